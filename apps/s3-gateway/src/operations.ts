import { createHash, randomBytes } from "node:crypto";
import type { FileStatus, OpenedFile, PutOptions } from "@trainfs/client";
import { TrainfsError, joinPath } from "@trainfs/common";
import { partBuffers } from "@trainfs/node";
import { bodyExpectations, verifiedBody } from "./body-decoder.js";
import { conditionFailed, conditionHeaders, deleteConditionHolds, versionOf, writeCondition, type DeleteCondition, type WriteCondition } from "./conditional-requests.js";
import { holdsObject, listObjects, type Listed } from "./listing.js";
import { MULTIPART_DIR, checkBucketName, isBucketName, keyPath } from "./names.js";
import {
  EMPTY_MD5,
  checkConditions,
  checksumAttributes,
  checksumHeaders,
  copyableAttributes,
  etagOf,
  httpDate,
  isFolderMarker,
  isoDate,
  metadataAttributes,
  refusedAcl,
  metadataHeaders,
  parseRange,
} from "./object-meta.js";
import { sendEmpty, sendXml } from "./responses.js";
import { header, type GatewayParts, type S3Request } from "./s3-context.js";
import { S3Error, toS3Error } from "./s3-error.js";
import { uriEncode } from "./sigv4.js";
import { parseXml } from "./xml.js";

/** The most one PutObject or UploadPart takes (S3's 5 GiB). */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;
const OWNER = { ID: "trainfs", DisplayName: "trainfs" };
const SMALL_BODY = 4 * 1024 * 1024;

/** Bucket and object operations over the Node SDK. */
export class Operations {
  constructor(private readonly p: GatewayParts) {}

  private get fs() {
    return this.p.fs;
  }

  /** A file's status by path (what conditional-requests.ts asks with). */
  readonly stat = (path: string) => this.fs.stat(path);

  // ---- Buckets

  /** ListBuckets, in name order; with max-buckets, paged by an opaque continuation token (the last name given), and prefix. */
  async listBuckets(r: S3Request): Promise<void> {
    const q = r.query;
    const max = q.has("max-buckets") ? parseMax(q.get("max-buckets"), "max-buckets", 10_000) : Infinity;
    if (max === 0) throw new S3Error("InvalidArgument", "max-buckets must be between 1 and 10000");
    const prefix = q.get("prefix") ?? "";
    const token = q.get("continuation-token") ?? "";
    const after = token === "" ? "" : fromToken(token);
    const buckets: Array<{ Name: string; CreationDate: string }> = [];
    let more = false;
    for await (const e of this.fs.listPages("/")) {
      const name = e.path.slice(1);
      if (e.type !== "directory" || !isBucketName(name) || !name.startsWith(prefix) || name <= after) continue;
      if (buckets.length === max) {
        more = true;
        break;
      }
      buckets.push({ Name: name, CreationDate: isoDate(e.modificationTime) });
    }
    const body: Record<string, unknown> = { Owner: OWNER, Buckets: { Bucket: buckets } };
    if (more) body.ContinuationToken = toToken(buckets.at(-1)!.Name);
    if (q.has("prefix")) body.Prefix = prefix;
    sendXml(r, 200, "ListAllMyBucketsResult", body);
  }

  async createBucket(r: S3Request): Promise<void> {
    checkBucketName(r.bucket);
    await this.drain(r);
    try {
      await this.fs.mkdir(`/${r.bucket}`);
    } catch (err) {
      if (err instanceof TrainfsError && err.code === "already_exists") {
        throw new S3Error("BucketAlreadyOwnedByYou", `the bucket ${r.bucket} already exists (a top-level directory of TrainFS)`);
      }
      throw toS3Error(err);
    }
    sendEmpty(r.res, 200, { location: `/${r.bucket}` });
  }

  async headBucket(r: S3Request): Promise<void> {
    await this.bucketDir(r.bucket);
    sendEmpty(r.res, 200, { "x-amz-bucket-region": this.p.config.region });
  }

  async bucketLocation(r: S3Request): Promise<void> {
    await this.bucketDir(r.bucket);
    // S3 answers an empty constraint for us-east-1.
    sendXml(r, 200, "LocationConstraint", { "#text": this.p.config.region === "us-east-1" ? "" : this.p.config.region });
  }

  async deleteBucket(r: S3Request): Promise<void> {
    await this.bucketDir(r.bucket);
    const notEmpty = () => new S3Error("BucketNotEmpty", `the bucket ${r.bucket} holds objects; delete them first`);
    if (await holdsObject(this.fs, `/${r.bucket}`)) throw notEmpty();
    // Only empty plain directories are left: they are no objects. Each goes
    // only while empty and plain, so an object put meanwhile stops it.
    try {
      await this.removeEmptyTree(`/${r.bucket}`);
    } catch (err) {
      if (err instanceof TrainfsError && err.code === "failed_precondition") throw notEmpty();
      if (err instanceof TrainfsError && err.code === "not_found") throw new S3Error("NoSuchBucket", `the bucket ${r.bucket} does not exist`);
      throw toS3Error(err);
    }
    sendEmpty(r.res, 204);
  }

  /** Removes a tree of empty plain directories, deepest first; FailedPrecondition where one holds anything else. */
  private async removeEmptyTree(dir: string): Promise<void> {
    const below: string[] = [];
    for await (const e of this.fs.listPages(dir)) if (e.type === "directory" && !isFolderMarker(e)) below.push(e.path);
    for (const d of below) await this.removeEmptyTree(d);
    await this.fs.rm(dir, { onlyEmptyPlainDirectory: true });
  }

  /** Stats by path: the one in flight, and the one queued behind it. */
  private readonly stats = new Map<string, { running?: Promise<FileStatus>; queued?: Promise<FileStatus> }>();

  /**
   * Stat of a path that many requests check at once: a bucket (every
   * request checks its own; 16 small PUTs in flight would make 16 equal
   * Stats) or a multipart upload's record (each part checks it). One Stat
   * per path is in flight; requests that arrive meanwhile share the next
   * one, sent when it answers. Each request is still answered by a Stat sent
   * after it arrived, so a bucket created or deleted before it is seen so.
   */
  sharedStat(path: string): Promise<FileStatus> {
    const e = this.stats.get(path) ?? {};
    this.stats.set(path, e);
    if (e.queued) return e.queued;
    if (!e.running) return this.runStat(path, e);
    const after = () => {
      e.queued = undefined;
      return this.runStat(path, e);
    };
    e.queued = e.running.then(after, after);
    return e.queued;
  }

  private runStat(path: string, e: { running?: Promise<FileStatus>; queued?: Promise<FileStatus> }): Promise<FileStatus> {
    const stat = this.fs.stat(path);
    e.running = stat;
    const done = () => {
      if (e.running === stat) e.running = undefined;
      if (!e.running && !e.queued && this.stats.get(path) === e) this.stats.delete(path);
    };
    stat.then(done, done);
    return stat;
  }

  /** The bucket's directory, or NoSuchBucket. */
  async bucketDir(bucket: string): Promise<FileStatus> {
    try {
      const s = await this.sharedStat(bucketPath(bucket));
      if (s.type === "directory") return s;
    } catch (err) {
      if (!(err instanceof TrainfsError && err.code === "not_found")) throw toS3Error(err);
    }
    throw noSuchBucket(bucket);
  }

  // ---- Listing

  /**
   * ListObjects (V1), ListObjectsV2 and ListObjectVersions: one walk of the
   * bucket. Versioning is never enabled on a TrainFS bucket, so, as S3 does
   * for such a bucket, every object is its only version, "null".
   */
  async listObjects(r: S3Request, flavour: "v1" | "v2" | "versions"): Promise<void> {
    // The bucket is checked while its listing starts (one round trip, not two); its answer comes first.
    const bucket = this.bucketDir(r.bucket);
    bucket.catch(() => {});
    const q = r.query;
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const maxKeys = parseMax(q.get("max-keys"), "max-keys", 1000);
    const encode = q.get("encoding-type") === "url";
    if (q.has("encoding-type") && !encode) throw new S3Error("InvalidArgument", "encoding-type must be url");
    let after = "";
    let token: string | undefined;
    if (flavour === "v2") {
      token = q.get("continuation-token");
      // An empty token is no token (S3 echoes it and lists from the start).
      after = token !== undefined && token !== "" ? fromToken(token) : (q.get("start-after") ?? "");
    } else if (flavour === "versions") {
      after = q.get("key-marker") ?? "";
      const versionMarker = q.get("version-id-marker");
      if (versionMarker !== undefined && versionMarker !== "") {
        if (after === "") throw new S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.");
        checkVersionId(versionMarker);
      }
    } else after = q.get("marker") ?? "";
    const items: Listed[] = [];
    let truncated = false;
    try {
      if (maxKeys > 0) {
        batches: for await (const batch of listObjects(this.fs, `/${r.bucket}`, { prefix, after, delimiter })) {
          for (const item of batch) {
            if (items.length === maxKeys) {
              truncated = true;
              break batches;
            }
            items.push(item);
          }
        }
      }
    } catch (err) {
      await bucket;
      throw toS3Error(err);
    }
    await bucket;
    const enc = (s: string) => (encode ? uriEncode(s, true) : s);
    const object = (i: Listed & { kind: "object" }) => ({
      Key: enc(i.key),
      ...(flavour === "versions" ? { VersionId: "null", IsLatest: true } : {}),
      LastModified: isoDate(i.status.modificationTime),
      ETag: etagOf(i.status),
      Size: i.status.size,
      StorageClass: "STANDARD",
      ...(flavour !== "v2" || q.get("fetch-owner") === "true" ? { Owner: OWNER } : {}),
    });
    const contents = items.flatMap((i) => (i.kind === "object" ? [object(i)] : []));
    const prefixes = items.flatMap((i) => (i.kind === "prefix" ? [{ Prefix: enc(i.prefix) }] : []));
    const last = items.at(-1);
    const lastKey = last ? (last.kind === "object" ? last.key : last.prefix) : "";
    // ListObjects (V1) gives its Prefix as sent even with encoding-type=url, as S3 does (boto3 decodes it only in V2 and versions).
    const body: Record<string, unknown> = { Name: r.bucket, Prefix: flavour === "v1" ? prefix : enc(prefix) };
    if (flavour === "v2") {
      if (token !== undefined) body.ContinuationToken = token;
      if (q.has("start-after")) body.StartAfter = enc(q.get("start-after")!);
      body.KeyCount = items.length;
      body.MaxKeys = maxKeys;
      if (delimiter) body.Delimiter = enc(delimiter);
      body.IsTruncated = truncated;
      if (truncated) body.NextContinuationToken = toToken(lastKey);
    } else if (flavour === "versions") {
      body.KeyMarker = enc(after);
      body.VersionIdMarker = q.get("version-id-marker") ?? "";
      if (truncated) {
        body.NextKeyMarker = enc(lastKey);
        if (last?.kind === "object") body.NextVersionIdMarker = "null";
      }
      body.MaxKeys = maxKeys;
      if (delimiter) body.Delimiter = enc(delimiter);
      body.IsTruncated = truncated;
    } else {
      body.Marker = enc(after);
      if (truncated && delimiter) body.NextMarker = enc(lastKey);
      body.MaxKeys = maxKeys;
      if (delimiter) body.Delimiter = enc(delimiter);
      body.IsTruncated = truncated;
    }
    if (encode) body.EncodingType = "url";
    if (flavour === "versions") body.Version = contents;
    else body.Contents = contents;
    body.CommonPrefixes = prefixes;
    sendXml(r, 200, flavour === "versions" ? "ListVersionsResult" : "ListBucketResult", body);
  }

  /** GetBucketVersioning: versioning was never enabled on a TrainFS bucket, which S3 says with an empty configuration. */
  async bucketVersioning(r: S3Request): Promise<void> {
    await this.bucketDir(r.bucket);
    sendXml(r, 200, "VersioningConfiguration", {});
  }

  // ---- Objects

  async putObject(r: S3Request): Promise<void> {
    const { path, folder } = keyPath(r.bucket, r.key);
    // A plain PUT leaves the bucket's check to the NameNode (existing_ancestor),
    // in its own transactions: one call fewer per object, and a bucket deleted
    // meanwhile is not made again.
    const bucket = bucketPath(r.bucket);
    if (folder || header(r, "if-match") !== undefined) await this.bucketDir(r.bucket);
    const attributes = metadataAttributes(r.req.headers);
    if (folder) {
      const body = await this.readSmallBody(r);
      if (body.length > 0) throw folderBytes(r.key, body.length);
      const status = await this.markFolder(path, r.key, attributes);
      sendEmpty(r.res, 200, { etag: `"${EMPTY_MD5}"`, "last-modified": httpDate(status.modificationTime) });
      return;
    }
    const { etag, status } = await this.writeBody(r, path, attributes, await writeCondition(r, path, this.stat), bucket);
    sendEmpty(r.res, 200, { etag: `"${etag}"`, "last-modified": httpDate(status.modificationTime), ...checksumHeaders(status.attributes) });
  }

  /** Makes a folder marker: its directory (and any missing above it), with the object's metadata as attributes. */
  private async markFolder(path: string, key: string, attributes: Record<string, string>): Promise<FileStatus> {
    try {
      return await this.fs.mkdir(path, { parents: true, attributes: { ...attributes, etag: EMPTY_MD5 } });
    } catch (err) {
      throw await this.putFailure(err, path, key);
    }
  }

  /**
   * Streams the request's body into a TrainFS file (each chunk to its chain
   * as its bytes arrive, with the body's backpressure; two chunks held at
   * most, for chain recovery), checked on the way; the file is
   * confirmed with its MD5 as `etag` only when every check passed, and
   * abandoned otherwise (its chunks trashed), the S3 error thrown.
   */
  async writeBody(
    r: S3Request,
    path: string,
    attributes: Record<string, string>,
    condition: WriteCondition = { overwrite: true },
    existingAncestor?: string,
  ): Promise<{ etag: string; status: FileStatus }> {
    const expect = bodyExpectations(r.req.headers, r.auth, MAX_PUT_BYTES);
    if (expect.length === undefined && !r.auth.payloadHash.startsWith("STREAMING-") && header(r, "transfer-encoding") === undefined) {
      throw new S3Error("MissingContentLength", "You must provide the Content-Length HTTP header");
    }
    let failure: unknown;
    // A client that stops sending is given up (S3's RequestTimeout) before
    // the chains' idle guard, meant for hung DataNodes, would blame them.
    // Only the waits for the client count, not those for the chains.
    const idleMs = this.p.config.bodyIdleTimeoutMs;
    const counted = async function* (source: AsyncIterable<Buffer>) {
      const it = source[Symbol.asyncIterator]();
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new S3Error("RequestTimeout", `Your socket connection to the server was not read from or written to within the timeout period (no byte of the body for ${idleMs} ms).`)),
            idleMs,
          );
        });
        let next: IteratorResult<Buffer>;
        try {
          next = await Promise.race([it.next(), stalled]);
        } finally {
          clearTimeout(timer);
        }
        if (next.done) return;
        r.bytesIn += next.value.length;
        yield next.value;
      }
    };
    const body = verifiedBody(counted(r.req), r.auth, expect);
    const bytes = (async function* () {
      try {
        yield* body.bytes;
      } catch (err) {
        failure = err;
        throw err;
      }
    })();
    let status: FileStatus;
    try {
      status = await this.putReplacing(bytes, path, {
        // A declared length lets the SDK plan every chunk at once and stream
        // each to its chain as the body arrives (see WriteOptions.size).
        size: expect.length,
        attributes,
        // The checksums the client sent and the body matched are kept, to be given back (x-amz-checksum-mode).
        attributesAtConfirm: () => ({ ...attributes, etag: body.done()!.md5Hex, ...checksumAttributes(body.done()!.checksums) }),
        condition,
        existingAncestor,
      });
    } catch (err) {
      if (failure instanceof S3Error) throw failure;
      if (failure !== undefined) throw new S3Error("IncompleteBody", `the request body was cut short: ${(failure as Error).message}`);
      if (existingAncestor !== undefined && err instanceof TrainfsError && err.code === "not_found") await this.bucketDir(r.bucket);
      throw (await conditionFailed(err, path, condition, this.stat)) ?? (await this.putFailure(err, path, r.key));
    }
    return { etag: body.done()!.md5Hex, status };
  }

  /**
   * Writes an object's bytes to `path`, replacing what is there. S3 lets two
   * PUTs of one key run at once, the last to finish winning; TrainFS leases a
   * path to one writer, and refuses another with Aborted. A PUT refused so
   * before it read a byte is written aside (under MULTIPART_DIR) and moved
   * into place with ConcatFiles, one NameNode transaction that copies no byte
   * and takes no lease: whichever finishes last wins, as on S3. A
   * conditional write's condition holds for both.
   */
  async putReplacing(
    source: AsyncIterable<Buffer>,
    path: string,
    o: { size: number | undefined; attributes: Record<string, string>; attributesAtConfirm: () => Record<string, string>; condition?: WriteCondition; existingAncestor?: string | undefined },
  ): Promise<FileStatus> {
    const { overwrite, replaceOnly } = o.condition ?? { overwrite: true };
    let started = false;
    const once = () =>
      (async function* () {
        started = true;
        yield* source;
      })();
    const options: PutOptions = { ...(o.size === undefined ? {} : { size: o.size }), attributes: o.attributes, attributesAtConfirm: o.attributesAtConfirm, ...this.writeSettings() };
    try {
      return await this.fs.put(once(), path, { ...options, overwrite, ...(replaceOnly ? { replaceOnly } : {}), existingAncestor: o.existingAncestor });
    } catch (err) {
      // An empty body is read whole before the NameNode is asked: it can be sent again.
      if (!(err instanceof TrainfsError && err.code === "aborted") || (started && o.size !== 0)) throw err;
    }
    const aside = `${MULTIPART_DIR}/put-${randomBytes(16).toString("hex")}`;
    try {
      await this.fs.put(o.size === 0 ? new Uint8Array(0) : once(), `${aside}/object`, options);
      return await this.fs.concat([`${aside}/object`], path, { overwrite, attributes: o.attributesAtConfirm(), ...(replaceOnly ? { replaceOnly } : {}) });
    } finally {
      await this.fs.rm(aside, { recursive: true }).catch(() => {});
    }
  }

  /**
   * A write's failure as S3 says it. FailedPrecondition is either a file in
   * the way along the key's path (the mapping's limit, the client's to fix)
   * or the cluster unable to take the write now (too few live DataNodes,
   * replicas not committed): the path tells which.
   */
  private async putFailure(err: unknown, path: string, key: string): Promise<S3Error> {
    if (!(err instanceof TrainfsError)) return toS3Error(err);
    if (err.code === "already_exists") return collision(key, err);
    if (err.code !== "failed_precondition") return toS3Error(err);
    const segments = path.split("/").filter((s) => s !== "");
    for (let i = 1; i < segments.length; i++) {
      const along = await this.fs.stat(`/${segments.slice(0, i).join("/")}`).catch(() => undefined);
      if (along?.type === "file") return collision(key, err);
      if (!along) break;
    }
    return new S3Error("ServiceUnavailable", `the cluster cannot store ${key} now: ${err.message}`);
  }

  writeSettings() {
    const { chunkSize, replication } = this.p.config;
    return { ...(chunkSize ? { chunkSize } : {}), ...(replication ? { replication } : {}) };
  }

  async getObject(r: S3Request, head: boolean): Promise<void> {
    if (r.query.has("partNumber")) throw new S3Error("NotImplemented", "GetObject with partNumber is not supported; use a Range");
    checkVersionId(r.query.get("versionId"));
    const { path, status, opened } = await this.objectStatus(r.bucket, r.key, !head);
    const verdict = checkConditions(conditionHeaders(r, ""), status, true);
    const headers: Record<string, string> = {
      etag: etagOf(status),
      "last-modified": httpDate(status.modificationTime),
      "accept-ranges": "bytes",
      ...metadataHeaders(status),
    };
    // The whole object's checksums, when asked for and kept (not for a range).
    const checksums = header(r, "x-amz-checksum-mode")?.toUpperCase() === "ENABLED" && header(r, "range") === undefined ? checksumHeaders(status.attributes) : {};
    if (Object.keys(checksums).length > 0) Object.assign(headers, checksums, { "x-amz-checksum-type": "FULL_OBJECT" });
    for (const name of ["content-type", "content-language", "expires", "cache-control", "content-disposition", "content-encoding"]) {
      const v = r.query.get(`response-${name}`);
      if (v !== undefined) headers[name] = v;
    }
    if (verdict === "not-modified") {
      const { etag, "last-modified": lm } = headers;
      r.res.writeHead(304, { etag: etag!, "last-modified": lm! });
      r.res.end();
      return;
    }
    const range = parseRange(header(r, "range"), status.size);
    const start = range?.start ?? 0;
    const end = range?.end ?? status.size - 1;
    const length = Math.max(0, end - start + 1);
    headers["content-length"] = String(length);
    if (range) headers["content-range"] = `bytes ${start}-${end}/${status.size}`;
    const code = range ? 206 : 200;
    if (head || length === 0) {
      r.res.writeHead(code, headers);
      r.res.end();
      return;
    }
    // The first bytes are in hand before the status is sent, so a file that
    // cannot be read gets an error response rather than a cut 200.
    const abort = new AbortController();
    r.res.once("close", () => abort.abort());
    const stream = opened ? opened.createReadStream({ start, end, signal: abort.signal }) : this.fs.createReadStream(path, { start, end, signal: abort.signal });
    const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let first: IteratorResult<Buffer>;
    try {
      first = await it.next();
    } catch (err) {
      throw toS3Error(err);
    }
    r.res.writeHead(code, headers);
    try {
      for (let next = first; !next.done; next = await it.next()) {
        const data = next.value;
        r.bytesOut += data.length;
        // Once the socket has it, the part's buffer goes back for the next part to arrive in.
        if (!r.res.write(data, () => partBuffers.give(data))) await waitDrain(r);
      }
      r.res.end();
    } catch (err) {
      // Headers are gone: the client sees a short body.
      this.p.logger.warn({ err, path, requestId: r.requestId }, "GetObject failed after the response started");
      r.res.destroy();
      await it.return?.(undefined);
    }
  }

  /**
   * The file at an object's path (a folder marker's directory), or NoSuchKey
   * (NoSuchBucket when its bucket is missing). With `open`, a file is also
   * located for reading, by the one GetFile that gives its status.
   */
  async objectStatus(bucket: string, key: string, open = false): Promise<{ path: string; status: FileStatus; opened?: OpenedFile }> {
    const { path, folder } = keyPath(bucket, key);
    try {
      if (open && !folder) {
        const opened = await this.fs.openFile(path);
        return { path, status: opened.status, opened };
      }
      const status = await this.fs.stat(path);
      if (folder ? isFolderMarker(status) : status.type === "file") return { path, status };
    } catch (err) {
      // Nothing there, or (GetFile's answer) a directory: not an object.
      if (!(err instanceof TrainfsError && (err.code === "not_found" || (open && err.code === "failed_precondition")))) throw toS3Error(err);
    }
    await this.bucketDir(bucket);
    throw new S3Error("NoSuchKey", `the key ${key} does not exist`, { Key: key });
  }

  /**
   * GetBucketAcl, GetObjectAcl: the owner's full control, all a TrainFS
   * bucket or object has. PutBucketAcl, PutObjectAcl: accepted when they ask
   * for that (a private canned ACL, or a policy granting the owner alone full
   * control), refused with NotImplemented otherwise; nothing is stored.
   */
  async acl(r: S3Request, verb: "get" | "put"): Promise<void> {
    if (r.key === "") await this.bucketDir(r.bucket);
    else {
      checkVersionId(r.query.get("versionId"));
      await this.objectStatus(r.bucket, r.key);
    }
    if (verb === "get") {
      const grantee = { "@_xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "@_xsi:type": "CanonicalUser", ...OWNER };
      sendXml(r, 200, "AccessControlPolicy", { Owner: OWNER, AccessControlList: { Grant: [{ Grantee: grantee, Permission: "FULL_CONTROL" }] } });
      return;
    }
    const refused = refusedAcl(r);
    if (refused) throw new S3Error("NotImplemented", `${refused} is not supported`);
    const text = (await this.readSmallBody(r)).toString("utf8");
    if (text.trim() !== "") {
      const doc = parseXml(text, "AccessControlPolicy");
      const grants = ((doc.AccessControlList as { Grant?: Array<Record<string, unknown>> } | undefined)?.Grant ?? []).map((g) => ({
        id: String((g.Grantee as Record<string, unknown> | undefined)?.ID ?? ""),
        permission: String(g.Permission ?? ""),
      }));
      if (grants.some((g) => g.id !== OWNER.ID || g.permission !== "FULL_CONTROL")) {
        throw new S3Error("NotImplemented", `TrainFS keeps no ACLs: only the owner's (${OWNER.ID}) full control can be granted; objects are private to the gateway's keys`);
      }
    }
    sendEmpty(r.res, 200);
  }

  /** GetObjectTagging and DeleteObjectTagging of an object, which has no tags: TrainFS does not keep them. */
  async objectTagging(r: S3Request, verb: "get" | "delete"): Promise<void> {
    checkVersionId(r.query.get("versionId"));
    await this.objectStatus(r.bucket, r.key);
    if (verb === "delete") sendEmpty(r.res, 204);
    else sendXml(r, 200, "Tagging", { TagSet: "" });
  }

  async deleteObject(r: S3Request): Promise<void> {
    checkVersionId(r.query.get("versionId"));
    await this.bucketDir(r.bucket);
    await this.removeKey(r.bucket, r.key, {
      etag: header(r, "if-match"),
      lastModified: header(r, "x-amz-if-match-last-modified-time"),
      size: header(r, "x-amz-if-match-size"),
    });
    sendEmpty(r.res, 204);
  }

  /**
   * Deletes a key's file, or a folder marker's attributes, if there is one
   * (S3 answers success either way), then the empty directories it leaves.
   * A conditional delete (S3's If-Match, and the object's last-modified time
   * and size) deletes only the object named: NoSuchKey when there is none,
   * PreconditionFailed when it differs, checked by the NameNode in the
   * delete's transaction.
   */
  async removeKey(bucket: string, key: string, cond: DeleteCondition = {}): Promise<void> {
    const { path, folder } = keyPath(bucket, key);
    const conditional = cond.etag !== undefined || cond.lastModified !== undefined || cond.size !== undefined;
    if (conditional && folder) throw new S3Error("NotImplemented", "a conditional delete of a folder marker (a key ending in '/') is not supported");
    const failed = () => new S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold (the object is not the one named)");
    try {
      const s = await this.fs.stat(path);
      if (folder) {
        if (!isFolderMarker(s)) return;
        // The directory stays while objects below it do; pruning takes it once empty.
        await this.fs.mkdir(path, { parents: true, attributes: {} });
      } else {
        if (s.type !== "file") {
          if (conditional) throw new S3Error("NoSuchKey", `the key ${key} does not exist`, { Key: key });
          return;
        }
        if (conditional && !deleteConditionHolds(s, cond)) throw failed();
        await this.fs.rm(path, conditional ? { onlyIf: versionOf(s) } : {});
      }
    } catch (err) {
      if (err instanceof TrainfsError && err.code === "not_found" && !conditional) return;
      if (err instanceof TrainfsError && err.code === "not_found") throw new S3Error("NoSuchKey", `the key ${key} does not exist`, { Key: key });
      if (err instanceof TrainfsError && err.code === "failed_precondition" && conditional) throw failed();
      throw toS3Error(err);
    }
    await this.pruneEmptyDirectories(bucket, folder ? path : path.slice(0, path.lastIndexOf("/")));
  }

  /**
   * Removes `dir` and the directories above it, up to the bucket, while a
   * deleted key leaves them empty: S3 has no empty prefixes. A directory that
   * is not empty (or that a write is filling), or a folder marker's, stops it
   * (the NameNode checks both in the one delete); a write that loses its
   * directory meanwhile makes it again when it completes.
   */
  async pruneEmptyDirectories(bucket: string, dir: string): Promise<void> {
    for (; dir.length > bucket.length + 1; dir = dir.slice(0, dir.lastIndexOf("/"))) {
      try {
        await this.fs.rm(dir, { onlyEmptyPlainDirectory: true });
      } catch {
        return;
      }
    }
  }

  async deleteObjects(r: S3Request): Promise<void> {
    await this.bucketDir(r.bucket);
    const doc = parseXml((await this.readSmallBody(r)).toString("utf8"), "Delete");
    const objects = (doc.Object as Array<Record<string, unknown>> | undefined) ?? [];
    if (objects.length === 0) throw new S3Error("MalformedXML", "the Delete document names no Object");
    if (objects.length > 1000) throw new S3Error("MalformedXML", `at most 1000 keys are deleted at once, not ${objects.length}`);
    const quiet = String(doc.Quiet ?? "").trim() === "true";
    const deleted: Array<{ Key: string; VersionId?: string }> = [];
    const errors: Array<{ Key: string; VersionId?: string; Code: string; Message: string }> = [];
    for (const o of objects) {
      const key = typeof o.Key === "string" ? o.Key : String(o.Key ?? "");
      const version = o.VersionId === undefined ? {} : { VersionId: String(o.VersionId) };
      const text = (v: unknown) => (v === undefined ? undefined : String(v).trim());
      try {
        checkVersionId(version.VersionId);
        await this.removeKey(r.bucket, key, { etag: text(o.ETag), lastModified: text(o.LastModifiedTime), size: text(o.Size) });
        if (!quiet) deleted.push({ Key: key, ...version });
      } catch (err) {
        const e = toS3Error(err);
        errors.push({ Key: key, ...version, Code: e.code, Message: e.message });
      }
    }
    sendXml(r, 200, "DeleteResult", { Deleted: deleted, Error: errors });
  }

  async copyObject(r: S3Request): Promise<void> {
    const { path, folder } = keyPath(r.bucket, r.key);
    await this.bucketDir(r.bucket);
    const source = await this.copySource(r);
    const directive = (header(r, "x-amz-metadata-directive") ?? "COPY").toUpperCase();
    if (directive !== "COPY" && directive !== "REPLACE") throw new S3Error("InvalidArgument", "x-amz-metadata-directive must be COPY or REPLACE");
    if (source.bucket === r.bucket && source.key === r.key && directive === "COPY") {
      throw new S3Error(
        "InvalidRequest",
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    await this.drain(r);
    const attributes = directive === "REPLACE" ? metadataAttributes(r.req.headers) : copyableAttributes(source.status);
    if (folder) {
      if (source.status.size > 0) throw folderBytes(r.key, source.status.size);
      const marked = await this.markFolder(path, r.key, attributes);
      sendXml(r, 200, "CopyObjectResult", { LastModified: isoDate(marked.modificationTime), ETag: `"${EMPTY_MD5}"` });
      return;
    }
    const { etag, status } = await this.copyBytes(source, undefined, path, r.key, attributes, await writeCondition(r, path, this.stat));
    sendXml(r, 200, "CopyObjectResult", { LastModified: isoDate(status.modificationTime), ETag: `"${etag}"` });
  }

  /** The object x-amz-copy-source names, once the x-amz-copy-source-if-* conditions hold (PreconditionFailed otherwise). */
  async copySource(r: S3Request): Promise<{ bucket: string; key: string; path: string; status: FileStatus }> {
    const source = parseCopySource(header(r, "x-amz-copy-source")!);
    const { path, status } = await this.objectStatus(source.bucket, source.key);
    const verdict = checkConditions(conditionHeaders(r, "x-amz-copy-source-"), status, true);
    if (verdict === "not-modified") throw new S3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold (copy source not modified)");
    return { ...source, path, status };
  }

  /**
   * Copies a source object's bytes (all, or [start, end]) to `path`. They
   * pass through the gateway (TrainFS has no server-side copy); their MD5 is
   * the copy's ETag.
   */
  async copyBytes(
    source: { path: string; status: FileStatus },
    range: { start: number; end: number } | undefined,
    path: string,
    key: string,
    attributes: Record<string, string>,
    condition: WriteCondition = { overwrite: true },
  ): Promise<{ etag: string; status: FileStatus }> {
    const size = range ? range.end - range.start + 1 : source.status.size;
    const reader: Iterable<Buffer> | AsyncIterable<Buffer> =
      size === 0 || isFolderMarker(source.status) ? [] : (this.fs.createReadStream(source.path, range ?? {}) as AsyncIterable<Buffer>);
    return this.putHashed(reader, path, key, { size, attributes, condition });
  }

  /**
   * Writes a source's bytes to `path` (putReplacing), their MD5 kept as the
   * ETag; a failure as S3 says it.
   */
  async putHashed(
    source: Iterable<Buffer> | AsyncIterable<Buffer>,
    path: string,
    key: string,
    o: { size: number | undefined; attributes: Record<string, string>; condition?: WriteCondition },
  ): Promise<{ etag: string; status: FileStatus }> {
    const md5 = createHash("md5");
    const hashed = (async function* () {
      for await (const data of source) {
        md5.update(data);
        yield data;
      }
    })();
    const { attributes, condition = { overwrite: true } } = o;
    let etag = "";
    try {
      const status = await this.putReplacing(hashed, path, {
        size: o.size,
        attributes,
        attributesAtConfirm: () => ({ ...attributes, etag: (etag ||= md5.digest("hex")) }),
        condition,
      });
      return { etag, status };
    } catch (err) {
      throw (await conditionFailed(err, path, condition, this.stat)) ?? (await this.putFailure(err, path, key));
    }
  }

  /** A small request body (XML documents), checked like any body. */
  async readSmallBody(r: S3Request): Promise<Buffer> {
    const expect = bodyExpectations(r.req.headers, r.auth, SMALL_BODY);
    const body = verifiedBody(r.req, r.auth, expect);
    const parts: Buffer[] = [];
    for await (const data of body.bytes) {
      r.bytesIn += data.length;
      parts.push(data);
    }
    return Buffer.concat(parts);
  }

  /** Reads and drops a body an operation does not use (CreateBucket's configuration, say). */
  async drain(r: S3Request): Promise<void> {
    for await (const data of r.req) {
      r.bytesIn += (data as Buffer).length;
      if (r.bytesIn > SMALL_BODY) throw new S3Error("InvalidRequest", "this request takes no large body");
    }
  }
}

/** A listing's continuation token: the last name it gave, opaque to clients. */
function toToken(last: string): string {
  return Buffer.from(last, "utf8").toString("base64url");
}

function fromToken(token: string): string {
  const after = Buffer.from(token, "base64url").toString("utf8");
  if (after === "" || toToken(after) !== token) throw new S3Error("InvalidArgument", "the continuation token is not one this gateway gave");
  return after;
}

/** A versionId in a request: "null" names an object of a bucket never versioned (every TrainFS bucket); any other names none. */
export function checkVersionId(versionId: string | undefined): void {
  if (versionId === undefined || versionId === "null") return;
  throw new S3Error("NoSuchVersion", `no version ${JSON.stringify(versionId.slice(0, 100))}: TrainFS buckets are not versioned, and an object's only version is "null"`);
}

function waitDrain(r: S3Request): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      r.res.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      r.res.off("drain", onDrain);
      reject(new Error("the client closed the connection"));
    };
    r.res.once("drain", onDrain);
    r.res.once("close", onClose);
  });
}

/** A body for a folder marker's key, which keeps no bytes. */
function folderBytes(key: string, bytes: number): S3Error {
  return new S3Error(
    "InvalidArgument",
    `the key ${key} ends in '/': TrainFS keeps such a key (a folder marker) as a directory, which holds no bytes, and this object would have ${bytes}`,
  );
}

/** A key whose path collides with a file or directory of other keys: the mapping's limit. */
function collision(key: string, err: TrainfsError): S3Error {
  return new S3Error(
    "InvalidArgument",
    `the key ${key} cannot be stored: ${err.message}. TrainFS keeps a key's '/' as directories, so a key cannot be both an object and a prefix of other keys`,
  );
}

export function parseCopySource(value: string): { bucket: string; key: string } {
  let text = value;
  const q = text.indexOf("?");
  if (q >= 0) {
    const version = new URLSearchParams(text.slice(q + 1)).get("versionId");
    if (version !== null && version !== "null") throw new S3Error("NotImplemented", "versions are not supported: the copy source cannot name a versionId");
    text = text.slice(0, q);
  }
  try {
    text = decodeURIComponent(text);
  } catch {
    throw new S3Error("InvalidArgument", "x-amz-copy-source is not URL-encoded correctly");
  }
  if (text.startsWith("/")) text = text.slice(1);
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1) throw new S3Error("InvalidArgument", "x-amz-copy-source must be bucket/key");
  return { bucket: text.slice(0, slash), key: text.slice(slash + 1) };
}

export function parseMax(value: string | undefined, name: string, cap: number): number {
  if (value === undefined) return cap;
  if (!/^\d{1,9}$/.test(value)) throw new S3Error("InvalidArgument", `${name} must be a non-negative integer`);
  return Math.min(Number(value), cap);
}

function noSuchBucket(bucket: string): S3Error {
  return new S3Error("NoSuchBucket", `the bucket ${bucket} does not exist`);
}

/** A bucket's directory; NoSuchBucket for a name no bucket can have. */
function bucketPath(bucket: string): string {
  if (!isBucketName(bucket)) throw noSuchBucket(bucket);
  return `/${bucket}`;
}
