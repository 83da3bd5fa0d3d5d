import type { FileCondition, FileStatus } from "@trainfs/client";
import { TrainfsError } from "@trainfs/common";
import { etagOf } from "./object-meta.js";
import { header, type S3Request } from "./s3-context.js";
import { S3Error, toS3Error } from "./s3-error.js";

// S3's conditional requests on writes and deletes (If-Match, If-None-Match,
// and a delete's time and size), turned into the conditions the NameNode
// checks in the transaction that replaces or deletes a file; and the If-*
// headers of reads and copies, for object-meta.ts's checkConditions.

type Stat = (path: string) => Promise<FileStatus>;

/**
 * S3's conditional writes: `If-None-Match: *` writes only where no object
 * is, `If-Match: <etag>` (or `*`) replaces only that object. Both are
 * checked by the NameNode in the transaction that makes the new file
 * (overwrite off; a replace_only condition on the version seen here), so
 * of two conditional writers only one succeeds; the other gets
 * PreconditionFailed.
 */
export async function writeCondition(r: S3Request, path: string, stat: Stat): Promise<WriteCondition> {
  const ifNoneMatch = header(r, "if-none-match");
  const ifMatch = header(r, "if-match");
  if (ifNoneMatch !== undefined && ifMatch !== undefined) throw new S3Error("NotImplemented", "If-Match and If-None-Match together on a write are not supported");
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== "*") throw new S3Error("NotImplemented", "If-None-Match on a write takes only *");
    return { overwrite: false };
  }
  if (ifMatch === undefined) return { overwrite: true };
  let current: FileStatus | undefined;
  try {
    current = await stat(path);
  } catch (err) {
    if (!(err instanceof TrainfsError && err.code === "not_found")) throw toS3Error(err);
  }
  if (current?.type !== "file") throw new S3Error("NoSuchKey", `the key ${r.key} does not exist (If-Match names the object to replace)`, { Key: r.key });
  if (!etagMatches(ifMatch, current)) throw new S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold (If-Match)");
  return { overwrite: true, replaceOnly: versionOf(current) };
}

/** A conditional write refused because the object is not (or no longer) as its condition said: PreconditionFailed. */
export async function conditionFailed(err: unknown, path: string, c: WriteCondition, stat: Stat): Promise<S3Error | undefined> {
  if (!(err instanceof TrainfsError)) return undefined;
  const now = await stat(path).catch(() => undefined);
  const refused = c.replaceOnly
    ? (err.code === "not_found" || err.code === "failed_precondition") && !matches(now, c.replaceOnly)
    : !c.overwrite && err.code === "already_exists" && now?.type === "file";
  return refused ? new S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold (the object changed, or was created, meanwhile)") : undefined;
}

/** How a write may treat what is at its path: S3's conditional writes (writeCondition). */
export interface WriteCondition {
  overwrite: boolean;
  replaceOnly?: FileCondition;
}

/** A conditional delete's If-Match (an ETag or *), last-modified time and size, as given. */
export interface DeleteCondition {
  etag?: string | undefined;
  lastModified?: string | undefined;
  size?: string | undefined;
}

/** Whether an object is the one a conditional delete names (times compared to the second, as S3 gives them). */
export function deleteConditionHolds(s: FileStatus, c: DeleteCondition): boolean {
  if (c.etag !== undefined && !etagMatches(c.etag, s)) return false;
  if (c.lastModified !== undefined) {
    const ms = Date.parse(c.lastModified);
    if (Number.isNaN(ms)) throw new S3Error("InvalidArgument", `the last-modified time ${JSON.stringify(c.lastModified.slice(0, 64))} is not a date`);
    if (Math.floor(ms / 1000) !== Math.floor(s.modificationTime.getTime() / 1000)) return false;
  }
  if (c.size !== undefined) {
    if (!/^\d+$/.test(c.size)) throw new S3Error("InvalidArgument", `the size ${JSON.stringify(c.size.slice(0, 64))} is not a number of bytes`);
    if (Number(c.size) !== s.size) return false;
  }
  return true;
}

/** Whether an If-Match value (an ETag, quoted or not, or *) names an object. */
function etagMatches(given: string, s: FileStatus): boolean {
  const etag = given.trim();
  return etag === "*" || etag === etagOf(s) || `"${etag}"` === etagOf(s);
}

/** The condition that names exactly this version of a file: its stored ETag, modification time and size. */
export function versionOf(s: FileStatus): FileCondition {
  const stored = s.attributes.etag;
  return { attributes: stored ? { etag: stored } : {}, modificationTimeMs: s.modificationTime.getTime(), size: s.size };
}

/** Whether a file is the version a replace_only condition names. */
function matches(status: FileStatus | undefined, c: FileCondition): boolean {
  if (status?.type !== "file") return false;
  if (Object.entries(c.attributes ?? {}).some(([k, v]) => status.attributes[k] !== v)) return false;
  if (c.modificationTimeMs !== undefined && status.modificationTime.getTime() !== c.modificationTimeMs) return false;
  return c.size === undefined || status.size === c.size;
}

/** A request's If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since, or their x-amz-copy-source- forms. */
export function conditionHeaders(r: S3Request, prefix: "" | "x-amz-copy-source-") {
  return {
    ifMatch: header(r, `${prefix}if-match`),
    ifNoneMatch: header(r, `${prefix}if-none-match`),
    ifModifiedSince: header(r, `${prefix}if-modified-since`),
    ifUnmodifiedSince: header(r, `${prefix}if-unmodified-since`),
  };
}
