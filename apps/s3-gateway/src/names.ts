import { MAX_SEGMENT_BYTES } from "@trainfs/common";
import { S3Error } from "./s3-error.js";

/** S3's limit on a key, in bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;
/** Where multipart uploads keep their parts: a top-level directory no bucket name can be. */
export const MULTIPART_DIR = "/.s3-multipart";

/** Whether a top-level directory's name is a bucket name (S3's rules for new buckets). */
export function isBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith("xn--") &&
    !name.endsWith("-s3alias")
  );
}

export function checkBucketName(name: string): void {
  if (!isBucketName(name)) {
    throw new S3Error(
      "InvalidBucketName",
      `${JSON.stringify(name)} is not a valid bucket name: 3 to 63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit, not an IP address`,
    );
  }
}

/**
 * The TrainFS path of a key in a bucket: the bucket is a top-level
 * directory and the key the path below it, each '/' a directory level.
 * A key TrainFS cannot hold is refused, never rewritten. A key ending in
 * '/' (a folder marker) is refused here: only `keyPath` takes one.
 */
export function objectPath(bucket: string, key: string): string {
  const { path, folder } = keyPath(bucket, key);
  if (folder) {
    throw new S3Error(
      "InvalidArgument",
      `the key ${JSON.stringify(key.slice(0, 200))} ends in '/': TrainFS keeps such a key (a folder marker) as a directory, which holds no bytes, so only an empty PutObject or a copy of an empty object can make one`,
    );
  }
  return path;
}

/**
 * The TrainFS path of any key, and whether it is a folder marker: a key
 * ending in '/', kept as the directory of that path, marked by attributes
 * (as SeaweedFS's filer keeps one). Its objects below share the directory.
 */
export function keyPath(bucket: string, key: string): { path: string; folder: boolean } {
  if (key.length === 0) throw new S3Error("InvalidArgument", "the object key is empty");
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) throw new S3Error("KeyTooLongError", `the key is ${bytes} bytes of UTF-8; the limit is ${MAX_KEY_BYTES}`);
  if (key.includes("\0")) throw new S3Error("InvalidArgument", "the key contains a NUL character, which TrainFS paths cannot hold");
  const folder = key.endsWith("/");
  const body = folder ? key.slice(0, -1) : key;
  for (const segment of body.split("/")) {
    if (segment === "") {
      throw new S3Error(
        "InvalidArgument",
        `the key ${JSON.stringify(key.slice(0, 200))} has an empty segment (a leading '/', or '//'): TrainFS keeps a key's '/' as directory levels, which cannot be empty`,
      );
    }
    if (segment === "." || segment === "..") {
      throw new S3Error("InvalidArgument", `the key ${JSON.stringify(key.slice(0, 200))} has a '${segment}' segment, which TrainFS paths cannot hold`);
    }
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw new S3Error("KeyTooLongError", `a segment of the key (between '/') is longer than TrainFS's ${MAX_SEGMENT_BYTES} bytes per path segment`);
    }
  }
  return { path: `/${bucket}/${body}`, folder };
}

/** Compares strings in the byte order of their UTF-8, as S3 orders keys. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
