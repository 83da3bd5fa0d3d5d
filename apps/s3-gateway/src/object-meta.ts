import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { FileStatus } from "@trainfs/client";
import { S3Error } from "./s3-error.js";

/** S3's limit on user metadata (x-amz-meta-*), names and values together. */
export const MAX_USER_METADATA_BYTES = 2048;
/** Stored headers, each under its own attribute of the same name. */
export const STORED_HEADERS = ["content-type", "content-encoding", "content-disposition", "content-language", "cache-control", "expires"] as const;

/**
 * An object's S3 metadata as file attributes: `etag` (hex MD5, or the
 * multipart form), each stored header under its own name, and the
 * x-amz-meta-* pairs as JSON under `meta` (their names may hold characters
 * attribute names cannot).
 */
export function metadataAttributes(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    let v = headers[name];
    // aws-chunked names how this request's body was framed, not how the object is encoded: S3 keeps the rest.
    if (name === "content-encoding" && typeof v === "string" && /aws-chunked/i.test(v)) {
      v = v.split(",").map((e) => e.trim()).filter((e) => e !== "" && e.toLowerCase() !== "aws-chunked").join(", ");
    }
    if (typeof v === "string" && v !== "") out[name] = v;
  }
  const meta: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith("x-amz-meta-") || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(",") : value;
    const key = name.slice("x-amz-meta-".length);
    meta[key] = v;
    bytes += Buffer.byteLength(key) + Buffer.byteLength(v);
  }
  if (bytes > MAX_USER_METADATA_BYTES) throw new S3Error("MetadataTooLarge", `the user metadata (x-amz-meta-*) is ${bytes} bytes; the limit is ${MAX_USER_METADATA_BYTES}`);
  if (Object.keys(meta).length > 0) out.meta = JSON.stringify(meta);
  return out;
}

/** The x-amz-checksum-* values a body was checked against, as attributes (`checksum-crc32`, …) kept with its file. */
export function checksumAttributes(checksums: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(checksums).map(([algorithm, value]) => [`checksum-${algorithm}`, value]));
}

/** The checksums kept with a file (checksumAttributes) as S3's response headers. */
export function checksumHeaders(attributes: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) if (name.startsWith("checksum-")) out[`x-amz-${name}`] = value;
  return out;
}

/** Canned ACLs that say what TrainFS does anyway: the owner (the gateway's keys) alone has access. */
const PRIVATE_ACLS = new Set(["private", "bucket-owner-full-control", "bucket-owner-read"]);

/**
 * What a request asks of ACLs beyond "private", which TrainFS cannot give
 * (it keeps no ACLs: access is the gateway's keys), or undefined. Such a
 * request is refused rather than stored without the access it asked for.
 */
export function refusedAcl(r: { req: { headers: IncomingHttpHeaders } }): string | undefined {
  const canned = r.req.headers["x-amz-acl"];
  if (typeof canned === "string" && !PRIVATE_ACLS.has(canned)) return `the canned ACL ${canned} (TrainFS keeps no ACLs: objects are private to the gateway's keys)`;
  const grant = Object.keys(r.req.headers).find((h) => h.startsWith("x-amz-grant-"));
  return grant ? `ACL grants (${grant}; TrainFS keeps no ACLs: objects are private to the gateway's keys)` : undefined;
}

/** The MD5 of no bytes: a folder marker's ETag. */
export const EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e";

/** Whether a status is a folder marker's: a directory with attributes (plain directories have none). */
export function isFolderMarker(status: FileStatus): boolean {
  return status.type === "directory" && Object.keys(status.attributes).length > 0;
}

/** The attribute naming the multipart upload an object was completed from: a retried Complete is answered from it. */
export const UPLOAD_ATTRIBUTE = "multipart-upload";

/** The metadata part of an object's attributes (all but its ETag, and the multipart upload it came from). */
export function copyableAttributes(status: FileStatus): Record<string, string> {
  const { etag: _, [UPLOAD_ATTRIBUTE]: __, ...rest } = status.attributes;
  return rest;
}

/**
 * An object's ETag, quoted. Files written through the gateway carry their
 * MD5 (or multipart ETag). Files written otherwise (the CLI, the SDKs) have
 * none, and reading every byte to make one would turn a HEAD or a listing
 * into a full read: they get the MD5 of their size and modification time in
 * the multipart form ("…-1"), which changes whenever the file does and which
 * clients (aws, rclone) know not to compare with an MD5 of the content.
 */
export function etagOf(status: FileStatus): string {
  const stored = status.attributes.etag;
  if (stored) return `"${stored}"`;
  const h = createHash("md5").update(`${status.size}:${status.modificationTime.getTime()}`).digest("hex");
  return `"${h}-1"`;
}

/** The response headers of an object's metadata: stored headers and x-amz-meta-*. */
export function metadataHeaders(status: FileStatus): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = status.attributes[name];
    if (v) out[name] = v;
  }
  out["content-type"] ??= "binary/octet-stream";
  if (status.attributes.meta) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(status.attributes.meta) as Record<string, string>)) out[`x-amz-meta-${k}`] = v;
    } catch {
      // Not written by the gateway: no user metadata.
    }
  }
  return out;
}

/** HTTP date of a modification time (second resolution, as S3). */
export function httpDate(d: Date): string {
  return d.toUTCString();
}

/** ISO time as S3's XML gives it (milliseconds, Z). */
export function isoDate(d: Date): string {
  return d.toISOString();
}

/**
 * Evaluates If-Match, If-None-Match, If-Modified-Since and
 * If-Unmodified-Since as S3 does (RFC 7232's precedence): 412 or 304 as a
 * thrown S3Error / "not-modified", or undefined to serve the object.
 */
export function checkConditions(
  h: { ifMatch?: string | undefined; ifNoneMatch?: string | undefined; ifModifiedSince?: string | undefined; ifUnmodifiedSince?: string | undefined },
  status: FileStatus,
  read: boolean,
): "not-modified" | undefined {
  const etag = etagOf(status);
  const seconds = Math.floor(status.modificationTime.getTime() / 1000);
  const matches = (list: string) => list.split(",").map((t) => t.trim()).some((t) => t === "*" || t === etag || `"${t}"` === etag);
  const since = (v: string | undefined) => {
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
  };
  if (h.ifMatch !== undefined) {
    if (!matches(h.ifMatch)) throw new S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold (If-Match)");
  } else {
    const t = since(h.ifUnmodifiedSince);
    if (t !== undefined && seconds > t) throw new S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold (If-Unmodified-Since)");
  }
  if (h.ifNoneMatch !== undefined) {
    if (matches(h.ifNoneMatch)) {
      if (read) return "not-modified";
      throw new S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold (If-None-Match)");
    }
  } else if (read) {
    const t = since(h.ifModifiedSince);
    if (t !== undefined && seconds <= t) return "not-modified";
  }
  return undefined;
}

/** A Range header against an object's size: [start, end] inclusive, undefined for the whole, or InvalidRange. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or another unit: served whole, as S3 does.
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw new S3Error("InvalidRange", "The requested range is not satisfiable", { ActualObjectSize: String(size) });
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) throw new S3Error("InvalidRange", "The requested range is not satisfiable", { ActualObjectSize: String(size) });
  return { start, end };
}
