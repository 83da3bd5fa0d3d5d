import { createHash, randomBytes } from "node:crypto";
import type { FileStatus } from "@trainfs/client";
import { TrainfsError } from "@trainfs/common";
import { conditionFailed, writeCondition } from "./conditional-requests.js";
import { MULTIPART_DIR, compareKeys, objectPath } from "./names.js";
import { UPLOAD_ATTRIBUTE, checksumHeaders, isoDate, metadataAttributes } from "./object-meta.js";
import { MAX_PUT_BYTES, parseMax, type Operations } from "./operations.js";
import { sendEmpty, sendXml } from "./responses.js";
import { header, type GatewayParts, type S3Request } from "./s3-context.js";
import { S3Error, toS3Error } from "./s3-error.js";
import { parseXml } from "./xml.js";

const OWNER = { ID: "trainfs", DisplayName: "trainfs" };
const MAX_PARTS = 10_000;
/** The file that records an upload (bucket, key, metadata) in its directory. */
const UPLOAD_FILE = "upload";
const partName = (n: number) => `part-${String(n).padStart(5, "0")}`;
const completeResult = (bucket: string, key: string, etag: string) => ({ Location: `/${bucket}/${key}`, Bucket: bucket, Key: key, ETag: `"${etag}"` });

interface Upload {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: Date;
  /** The object's metadata attributes, given at CreateMultipartUpload. */
  attributes: Record<string, string>;
}

/**
 * Multipart uploads, kept in TrainFS itself so that any gateway can serve
 * any upload: `/.s3-multipart/<uploadId>/upload` (empty; the bucket, key
 * and metadata in its attributes) and one file per part,
 * `part-00001`… (its MD5 as `etag`). Completing joins the parts' chunks into
 * the object with ConcatFiles: no byte is copied.
 */
export class Multipart {
  constructor(
    private readonly p: GatewayParts,
    private readonly ops: Operations,
  ) {}

  private get fs() {
    return this.p.fs;
  }

  async create(r: S3Request): Promise<void> {
    objectPath(r.bucket, r.key);
    await this.ops.bucketDir(r.bucket);
    await this.ops.drain(r);
    const uploadId = randomBytes(16).toString("hex");
    const meta = metadataAttributes(r.req.headers);
    await this.fs
      .put(new Uint8Array(0), `${MULTIPART_DIR}/${uploadId}/${UPLOAD_FILE}`, {
        attributes: { ...meta, bucket: r.bucket, key: r.key },
        ...this.ops.writeSettings(),
      })
      .catch((err: unknown) => {
        throw toS3Error(err);
      });
    sendXml(r, 200, "InitiateMultipartUploadResult", { Bucket: r.bucket, Key: r.key, UploadId: uploadId });
  }

  async uploadPart(r: S3Request): Promise<void> {
    const n = partNumber(r.query.get("partNumber"));
    const upload = await this.upload(r);
    const { etag, status } = await this.ops.writeBody(r, `${MULTIPART_DIR}/${upload.uploadId}/${partName(n)}`, {});
    sendEmpty(r.res, 200, { etag: `"${etag}"`, ...checksumHeaders(status.attributes) });
  }

  /** UploadPartCopy: a part made of a source object's bytes (all, or x-amz-copy-source-range), copied through the gateway. */
  async uploadPartCopy(r: S3Request): Promise<void> {
    const n = partNumber(r.query.get("partNumber"));
    const upload = await this.upload(r);
    const source = await this.ops.copySource(r);
    const range = copyRange(header(r, "x-amz-copy-source-range"), source.status.size);
    const size = range ? range.end - range.start + 1 : source.status.size;
    if (size > MAX_PUT_BYTES) throw new S3Error("EntityTooLarge", `a part is at most ${MAX_PUT_BYTES} bytes; this copy would be ${size}: give an x-amz-copy-source-range`);
    await this.ops.drain(r);
    const { etag, status } = await this.ops.copyBytes(source, range, `${MULTIPART_DIR}/${upload.uploadId}/${partName(n)}`, upload.key, {});
    sendXml(r, 200, "CopyPartResult", { LastModified: isoDate(status.modificationTime), ETag: `"${etag}"` });
  }

  async complete(r: S3Request): Promise<void> {
    let upload: Upload;
    try {
      upload = await this.upload(r);
    } catch (err) {
      // A retried Complete (its first answer lost) finds the object it made: S3 answers it again.
      const done = err instanceof S3Error && err.code === "NoSuchUpload" ? await this.completed(r) : undefined;
      if (!done) throw err;
      await this.ops.drain(r);
      sendXml(r, 200, "CompleteMultipartUploadResult", completeResult(r.bucket, r.key, done.attributes.etag!), { "last-modified": done.modificationTime.toUTCString() });
      return;
    }
    const doc = parseXml((await this.ops.readSmallBody(r)).toString("utf8"), "CompleteMultipartUpload");
    const given = ((doc.Part as Array<Record<string, unknown>> | undefined) ?? []).map((p) => ({
      number: Number(String(p.PartNumber ?? "").trim()),
      etag: String(p.ETag ?? "").trim().replace(/^"|"$/g, ""),
    }));
    if (given.length === 0) throw new S3Error("MalformedXML", "the CompleteMultipartUpload document names no Part");
    given.forEach((g, i) => {
      if (!Number.isInteger(g.number) || g.number < 1 || g.number > MAX_PARTS) throw new S3Error("InvalidArgument", `part number ${g.number} is not between 1 and ${MAX_PARTS}`);
      if (i > 0 && g.number < given[i - 1]!.number) throw new S3Error("InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.");
    });
    // A part number listed twice (a part uploaded again while the first upload of it ran): its last entry counts, as on S3.
    const listed = given.filter((g, i) => given[i + 1]?.number !== g.number);
    const stored = await this.parts(upload.uploadId);
    const chosen = listed.map((g) => {
      const part = stored.get(g.number);
      if (!part || part.attributes.etag !== g.etag) {
        throw new S3Error("InvalidPart", `part ${g.number} was not uploaded, or its ETag is not ${g.etag}: one or more of the specified parts could not be found`);
      }
      return part;
    });
    chosen.forEach((part, i) => {
      if (i < chosen.length - 1 && part.size < this.p.config.minPartSize) {
        throw new S3Error("EntityTooSmall", `part ${listed[i]!.number} is ${part.size} bytes; every part but the last must be at least ${this.p.config.minPartSize}`);
      }
    });
    const md5s = Buffer.concat(chosen.map((p) => Buffer.from(p.attributes.etag!, "hex")));
    const etag = `${createHash("md5").update(md5s).digest("hex")}-${chosen.length}`;
    const path = objectPath(upload.bucket, upload.key);
    const condition = await writeCondition(r, path, this.ops.stat);
    let file: FileStatus;
    try {
      const { overwrite, replaceOnly } = condition;
      const attributes = { ...upload.attributes, etag, [UPLOAD_ATTRIBUTE]: upload.uploadId };
      file = await this.fs.concat(chosen.map((p) => p.path), path, { overwrite, attributes, ...(replaceOnly ? { replaceOnly } : {}) });
    } catch (err) {
      const refused = await conditionFailed(err, path, condition, this.ops.stat);
      if (refused) throw refused;
      if (err instanceof TrainfsError && (err.code === "already_exists" || err.code === "failed_precondition")) {
        throw new S3Error("InvalidArgument", `the key ${upload.key} cannot be stored: ${err.message}`);
      }
      throw toS3Error(err, "NoSuchUpload");
    }
    // The parts not chosen and the upload's record go (their chunks to trash).
    await this.fs.rm(`${MULTIPART_DIR}/${upload.uploadId}`, { recursive: true }).catch(() => {});
    sendXml(r, 200, "CompleteMultipartUploadResult", completeResult(upload.bucket, upload.key, etag), { "last-modified": file.modificationTime.toUTCString() });
  }

  /** The object a completed upload made, while it is still the one at its key. */
  private async completed(r: S3Request): Promise<FileStatus | undefined> {
    const uploadId = r.query.get("uploadId") ?? "";
    const s = await this.fs.stat(objectPath(r.bucket, r.key)).catch(() => undefined);
    return s?.type === "file" && s.attributes[UPLOAD_ATTRIBUTE] === uploadId && s.attributes.etag ? s : undefined;
  }

  async abort(r: S3Request): Promise<void> {
    const upload = await this.upload(r);
    await this.fs.rm(`${MULTIPART_DIR}/${upload.uploadId}`, { recursive: true }).catch((err: unknown) => {
      throw toS3Error(err, "NoSuchUpload");
    });
    sendEmpty(r.res, 204);
  }

  async listParts(r: S3Request): Promise<void> {
    const upload = await this.upload(r);
    const maxParts = parseMax(r.query.get("max-parts"), "max-parts", 1000);
    const marker = Number(r.query.get("part-number-marker") ?? "0");
    if (!Number.isInteger(marker) || marker < 0) throw new S3Error("InvalidArgument", "part-number-marker must be a non-negative integer");
    const all = [...(await this.parts(upload.uploadId)).entries()].sort(([a], [b]) => a - b).filter(([n]) => n > marker);
    const page = all.slice(0, maxParts);
    const truncated = all.length > page.length;
    sendXml(r, 200, "ListPartsResult", {
      Bucket: upload.bucket,
      Key: upload.key,
      UploadId: upload.uploadId,
      Initiator: OWNER,
      Owner: OWNER,
      StorageClass: "STANDARD",
      PartNumberMarker: marker,
      ...(truncated ? { NextPartNumberMarker: page.at(-1)![0] } : {}),
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map(([n, s]) => ({ PartNumber: n, LastModified: isoDate(s.modificationTime), ETag: `"${s.attributes.etag}"`, Size: s.size })),
    });
  }

  async listUploads(r: S3Request): Promise<void> {
    await this.ops.bucketDir(r.bucket);
    const prefix = r.query.get("prefix") ?? "";
    const keyMarker = r.query.get("key-marker") ?? "";
    const idMarker = r.query.get("upload-id-marker") ?? "";
    const max = parseMax(r.query.get("max-uploads"), "max-uploads", 1000);
    const uploads = (await this.allUploads())
      .filter((u) => u.bucket === r.bucket && u.key.startsWith(prefix))
      .filter((u) => {
        const c = compareKeys(u.key, keyMarker);
        return keyMarker === "" || c > 0 || (c === 0 && idMarker !== "" && u.uploadId > idMarker);
      })
      .sort((a, b) => compareKeys(a.key, b.key) || a.initiated.getTime() - b.initiated.getTime() || (a.uploadId < b.uploadId ? -1 : 1));
    const page = uploads.slice(0, max);
    const truncated = uploads.length > page.length;
    sendXml(r, 200, "ListMultipartUploadsResult", {
      Bucket: r.bucket,
      KeyMarker: keyMarker,
      UploadIdMarker: idMarker,
      ...(truncated ? { NextKeyMarker: page.at(-1)!.key, NextUploadIdMarker: page.at(-1)!.uploadId } : {}),
      Prefix: prefix,
      MaxUploads: max,
      IsTruncated: truncated,
      Upload: page.map((u) => ({ Key: u.key, UploadId: u.uploadId, Initiator: OWNER, Owner: OWNER, StorageClass: "STANDARD", Initiated: isoDate(u.initiated) })),
    });
  }

  /**
   * Removes uploads started longer than `expiryMs` ago (and directories
   * without an upload record, once as old): their parts' chunks go to trash.
   * Any gateway may run it at any time; a removal another made first is no error.
   */
  async sweep(expiryMs: number): Promise<string[]> {
    const removed: string[] = [];
    const cutoff = this.p.now() - expiryMs;
    let entries: FileStatus[];
    try {
      entries = await this.fs.list(MULTIPART_DIR);
    } catch (err) {
      if (err instanceof TrainfsError && err.code === "not_found") return removed;
      throw err;
    }
    for (const dir of entries) {
      if (dir.type !== "directory") continue;
      let started = dir.modificationTime.getTime();
      try {
        started = (await this.fs.stat(`${dir.path}/${UPLOAD_FILE}`)).modificationTime.getTime();
      } catch {
        // No record: the directory's own time.
      }
      if (started > cutoff) continue;
      try {
        await this.fs.rm(dir.path, { recursive: true });
        removed.push(dir.path.slice(MULTIPART_DIR.length + 1));
      } catch (err) {
        if (!(err instanceof TrainfsError && err.code === "not_found")) throw err;
      }
    }
    return removed;
  }

  private async allUploads(): Promise<Upload[]> {
    const out: Upload[] = [];
    let entries: FileStatus[];
    try {
      entries = await this.fs.list(MULTIPART_DIR);
    } catch (err) {
      if (err instanceof TrainfsError && err.code === "not_found") return out;
      throw toS3Error(err);
    }
    for (const dir of entries) {
      if (dir.type !== "directory") continue;
      try {
        out.push(toUpload(dir.path.slice(MULTIPART_DIR.length + 1), await this.fs.stat(`${dir.path}/${UPLOAD_FILE}`)));
      } catch {
        // Being completed or aborted right now.
      }
    }
    return out;
  }

  /** The upload a request names (uploadId, bucket and key must all match), or NoSuchUpload. */
  private async upload(r: S3Request): Promise<Upload> {
    const uploadId = r.query.get("uploadId") ?? "";
    objectPath(r.bucket, r.key);
    const missing = new S3Error("NoSuchUpload", `the upload ${uploadId} does not exist for ${r.bucket}/${r.key}: it may have been completed, aborted or expired`, { UploadId: uploadId });
    if (!/^[0-9a-f]{32}$/.test(uploadId)) throw missing;
    let status: FileStatus;
    try {
      // Shared: the parts of one upload, sent together, check the same record.
      status = await this.ops.sharedStat(`${MULTIPART_DIR}/${uploadId}/${UPLOAD_FILE}`);
    } catch (err) {
      if (err instanceof TrainfsError && err.code === "not_found") throw missing;
      throw toS3Error(err);
    }
    const upload = toUpload(uploadId, status);
    if (upload.bucket !== r.bucket || upload.key !== r.key) throw missing;
    return upload;
  }

  /** The parts uploaded so far, by number. */
  private async parts(uploadId: string): Promise<Map<number, FileStatus & { path: string }>> {
    const out = new Map<number, FileStatus & { path: string }>();
    for await (const s of this.fs.listPages(`${MULTIPART_DIR}/${uploadId}`)) {
      const m = /\/part-(\d{5})$/.exec(s.path);
      if (m && s.type === "file" && s.attributes.etag) out.set(Number(m[1]), s);
    }
    return out;
  }
}

function toUpload(uploadId: string, status: FileStatus): Upload {
  const { bucket = "", key = "", ...attributes } = status.attributes;
  return { uploadId, bucket, key, initiated: status.modificationTime, attributes };
}

/**
 * x-amz-copy-source-range against the source's size: S3 takes only
 * `bytes=first-last` (InvalidArgument otherwise), within the object
 * (InvalidRange otherwise); none copies the whole object.
 */
export function copyRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw new S3Error("InvalidArgument", `x-amz-copy-source-range must be bytes=first-last with first <= last, not ${JSON.stringify(value.slice(0, 100))}`);
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end >= size) throw new S3Error("InvalidRange", `the range ${start}-${end} is not within the source object of ${size} bytes`, { ActualObjectSize: String(size) });
  return { start, end };
}

function partNumber(value: string | undefined): number {
  const n = Number(value);
  if (!value || !Number.isInteger(n) || n < 1 || n > MAX_PARTS) throw new S3Error("InvalidArgument", `partNumber must be an integer between 1 and ${MAX_PARTS}`);
  return n;
}
