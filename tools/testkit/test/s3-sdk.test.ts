import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { PassThrough, Readable } from "node:stream";
import { crc32 as zlibCrc32 } from "node:zlib";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetObjectAclCommand,
  PutBucketAclCommand,
  PutObjectAclCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  DeleteObjectTaggingCommand,
  PutObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MiniCluster, generateS3Credential, generateSecurity, startS3Gateway, type S3GatewayHandle } from "../src/index.js";
import { eventually } from "./helpers.js";
import { errorCode, s3Client, s3Failure, signedFetch, signedTrailerPut } from "./s3-helpers.js";

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

let c: MiniCluster;
let gw: S3GatewayHandle;
let s3: S3Client;
let ro: S3Client;
const rw = generateS3Credential();
const roKey = generateS3Credential("read-only");

beforeAll(async () => {
  c = await MiniCluster.start({ security: generateSecurity(), nameNode: { defaultChunkSize: 4 * MiB, minChunkSize: 1024 } });
  await c.waitForLiveDataNodes(3);
  gw = await startS3Gateway(c, { credentials: [rw, roKey] });
  s3 = s3Client(gw.address, rw);
  ro = s3Client(gw.address, roKey);
  await s3.send(new CreateBucketCommand({ Bucket: "data" }));
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  ro?.destroy();
  await gw?.stop();
  await c?.shutdown();
});

const body = async (res: { Body?: { transformToByteArray(): Promise<Uint8Array> } }) => Buffer.from(await res.Body!.transformToByteArray());

describe("buckets", () => {
  it("create, head, list, locate and delete; not empty and existing buckets refused", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "scratch-1" }));
    await s3.send(new HeadBucketCommand({ Bucket: "scratch-1" }));
    const names = (await s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name);
    expect(names).toEqual(expect.arrayContaining(["data", "scratch-1"]));
    // The multipart staging directory is no bucket.
    expect(names.some((n) => n!.startsWith("."))).toBe(false);
    expect((await s3.send(new GetBucketLocationCommand({ Bucket: "scratch-1" }))).LocationConstraint ?? "").toBe("");
    expect(await s3Failure(s3.send(new CreateBucketCommand({ Bucket: "scratch-1" })))).toMatchObject({ code: "BucketAlreadyOwnedByYou", status: 409 });
    await s3.send(new PutObjectCommand({ Bucket: "scratch-1", Key: "deep/x", Body: "x" }));
    expect(await s3Failure(s3.send(new DeleteBucketCommand({ Bucket: "scratch-1" })))).toMatchObject({ code: "BucketNotEmpty", status: 409 });
    await s3.send(new DeleteObjectCommand({ Bucket: "scratch-1", Key: "deep/x" }));
    await s3.send(new DeleteBucketCommand({ Bucket: "scratch-1" }));
    expect(await s3Failure(s3.send(new HeadBucketCommand({ Bucket: "scratch-1" })))).toMatchObject({ status: 404 });
  });
});

describe("ListBuckets pages", () => {
  it("max-buckets and a continuation token page the buckets in name order; prefix filters them", async () => {
    for (const b of ["pg-c", "pg-a", "pg-b"]) await s3.send(new CreateBucketCommand({ Bucket: b }));
    const first = await s3.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: "pg-" }));
    expect(first.Buckets!.map((b) => b.Name)).toEqual(["pg-a", "pg-b"]);
    expect(first.Prefix).toBe("pg-");
    expect(first.ContinuationToken).toBeTruthy();
    const rest = await s3.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: "pg-", ContinuationToken: first.ContinuationToken }));
    expect(rest.Buckets!.map((b) => b.Name)).toEqual(["pg-c"]);
    expect(rest.ContinuationToken).toBeUndefined();
    expect((await s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toEqual(expect.arrayContaining(["data", "pg-a", "pg-b", "pg-c"]));
    expect(await s3Failure(s3.send(new ListBucketsCommand({ MaxBuckets: 2, ContinuationToken: "not a token!" })))).toMatchObject({ code: "InvalidArgument", status: 400 });
    for (const b of ["pg-a", "pg-b", "pg-c"]) await s3.send(new DeleteBucketCommand({ Bucket: b }));
  });
});

describe("objects", () => {
  it("PutObject keeps the bytes, the MD5 ETag, Content-Type and x-amz-meta-*; GetObject and HeadObject return them", async () => {
    const data = randomBytes(9 * MiB + 123);
    const put = await s3.send(new PutObjectCommand({ Bucket: "data", Key: "dir/sub/obj.bin", Body: data, ContentType: "application/x-test", Metadata: { owner: "ana", "run-id": "42" } }));
    expect(put.ETag).toBe(`"${md5(data)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "dir/sub/obj.bin" }));
    expect((await body(got)).equals(data)).toBe(true);
    expect(got).toMatchObject({ ETag: `"${md5(data)}"`, ContentType: "application/x-test", ContentLength: data.length, Metadata: { owner: "ana", "run-id": "42" } });
    const head = await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "dir/sub/obj.bin" }));
    expect(head).toMatchObject({ ETag: `"${md5(data)}"`, ContentLength: data.length, ContentType: "application/x-test" });
    // Objects are files: the SDK sees the same bytes.
    expect((await c.client().readFile("/data/dir/sub/obj.bin")).equals(data)).toBe(true);
    expect((await c.client().stat("/data/dir/sub/obj.bin")).attributes.etag).toBe(md5(data));
  });

  it("the x-amz-checksum-* a PUT was checked against is answered, kept, and given back with x-amz-checksum-mode (whole objects only)", async () => {
    const data = randomBytes(100_000);
    const sha = createHash("sha256").update(data).digest("base64");
    const put = await s3.send(new PutObjectCommand({ Bucket: "data", Key: "sum/sha", Body: data, ChecksumAlgorithm: "SHA256", ChecksumSHA256: sha }));
    expect(put.ChecksumSHA256).toBe(sha);
    expect((await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "sum/sha" }))).ChecksumSHA256).toBeUndefined();
    expect((await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "sum/sha", ChecksumMode: "ENABLED" }))).ChecksumSHA256).toBe(sha);
    // The SDK's defaults: a CRC-32 in a trailer on PUT; on GET it asks for the checksum and verifies the body against it.
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlibCrc32(data));
    const plain = await s3.send(new PutObjectCommand({ Bucket: "data", Key: "sum/crc", Body: data }));
    expect(plain.ChecksumCRC32).toBe(crc.toString("base64"));
    const got = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "sum/crc", ChecksumMode: "ENABLED" }));
    expect(got.ChecksumCRC32).toBe(crc.toString("base64"));
    expect((await body(got)).equals(data)).toBe(true);
    expect((await s3.send(new GetObjectCommand({ Bucket: "data", Key: "sum/crc", ChecksumMode: "ENABLED", Range: "bytes=0-9" }))).ChecksumCRC32).toBeUndefined();
  });

  it("Content-Encoding is kept without the aws-chunked the SDK adds to frame a streamed body", async () => {
    const data = randomBytes(1000);
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "enc/gz", Body: Readable.from([data]), ContentLength: data.length, ContentEncoding: "gzip" }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "enc/gz" }))).ContentEncoding).toBe("gzip");
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "enc/plain", Body: Readable.from([data]), ContentLength: data.length }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "enc/plain" }))).ContentEncoding).toBeUndefined();
  });

  it("GetObject with a Range answers 206 and Content-Range, across chunk boundaries", async () => {
    const data = randomBytes(10 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "ranged", Body: data }));
    for (const [start, end] of [[0, 0], [4 * MiB - 5, 4 * MiB + 5], [8 * MiB - 1, 10 * MiB - 1]] as const) {
      const res = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "ranged", Range: `bytes=${start}-${end}` }));
      expect(res.$metadata.httpStatusCode).toBe(206);
      expect(res.ContentRange).toBe(`bytes ${start}-${end}/${data.length}`);
      expect((await body(res)).equals(data.subarray(start, end + 1))).toBe(true);
    }
    const suffix = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "ranged", Range: "bytes=-100" }));
    expect((await body(suffix)).equals(data.subarray(data.length - 100))).toBe(true);
    expect(await s3Failure(s3.send(new GetObjectCommand({ Bucket: "data", Key: "ranged", Range: `bytes=${data.length}-` })))).toMatchObject({ code: "InvalidRange", status: 416 });
  });

  it("conditionals: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since → 304 / 412", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: "data", Key: "cond", Body: "conditional" }));
    const etag = put.ETag!;
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    expect((await s3.send(new GetObjectCommand({ Bucket: "data", Key: "cond", IfMatch: etag }))).$metadata.httpStatusCode).toBe(200);
    expect(await s3Failure(s3.send(new GetObjectCommand({ Bucket: "data", Key: "cond", IfMatch: '"0000"' })))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    expect(await s3Failure(s3.send(new GetObjectCommand({ Bucket: "data", Key: "cond", IfNoneMatch: etag })))).toMatchObject({ status: 304 });
    expect((await s3.send(new GetObjectCommand({ Bucket: "data", Key: "cond", IfNoneMatch: '"0000"' }))).$metadata.httpStatusCode).toBe(200);
    expect(await s3Failure(s3.send(new GetObjectCommand({ Bucket: "data", Key: "cond", IfModifiedSince: future })))).toMatchObject({ status: 304 });
    expect((await s3.send(new GetObjectCommand({ Bucket: "data", Key: "cond", IfModifiedSince: past }))).$metadata.httpStatusCode).toBe(200);
    expect(await s3Failure(s3.send(new GetObjectCommand({ Bucket: "data", Key: "cond", IfUnmodifiedSince: past })))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    expect((await s3.send(new GetObjectCommand({ Bucket: "data", Key: "cond", IfUnmodifiedSince: future }))).$metadata.httpStatusCode).toBe(200);
    // If-Match wins over a failing If-Unmodified-Since (RFC 7232).
    expect((await s3.send(new GetObjectCommand({ Bucket: "data", Key: "cond", IfMatch: etag, IfUnmodifiedSince: past }))).$metadata.httpStatusCode).toBe(200);
    expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: "data", Key: "cond", IfMatch: '"0000"' })))).toMatchObject({ status: 412 });
  });

  it("DeleteObject answers 204, also for a missing key, and leaves no empty prefix behind", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "gone/a/b/c.txt", Body: "c" }));
    expect((await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "gone/a/b/c.txt" }))).$metadata.httpStatusCode).toBe(204);
    expect((await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "never/there" }))).$metadata.httpStatusCode).toBe(204);
    expect(await c.client().exists("/data/gone")).toBe(false);
    const list = await s3.send(new ListObjectsV2Command({ Bucket: "data", Delimiter: "/" }));
    expect((list.CommonPrefixes ?? []).map((p) => p.Prefix)).not.toContain("gone/");
  });

  it("DeleteObjects deletes up to 1000 keys, quietly if asked", async () => {
    for (const k of ["m/1", "m/2", "m/3"]) await s3.send(new PutObjectCommand({ Bucket: "data", Key: k, Body: k }));
    const loud = await s3.send(new DeleteObjectsCommand({ Bucket: "data", Delete: { Objects: [{ Key: "m/1" }, { Key: "m/none" }] } }));
    expect(loud.Deleted!.map((d) => d.Key).sort()).toEqual(["m/1", "m/none"]);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: "data", Delete: { Quiet: true, Objects: [{ Key: "m/2" }, { Key: "m/3" }] } }));
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(await c.client().exists("/data/m")).toBe(false);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ Key: `k${i}` }));
    expect(await s3Failure(s3.send(new DeleteObjectsCommand({ Bucket: "data", Delete: { Objects: tooMany } })))).toMatchObject({ code: "MalformedXML", status: 400 });
  });

  it("CopyObject copies bytes and metadata, or replaces the metadata", async () => {
    const data = randomBytes(5 * MiB + 7);
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "copy/src", Body: data, ContentType: "text/x-src", Metadata: { a: "1" } }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket: "data", Key: "copy/dst", CopySource: "data/copy/src" }));
    expect(copied.CopyObjectResult!.ETag).toBe(`"${md5(data)}"`);
    const dst = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "copy/dst" }));
    expect((await body(dst)).equals(data)).toBe(true);
    expect(dst).toMatchObject({ ContentType: "text/x-src", Metadata: { a: "1" } });
    await s3.send(new CopyObjectCommand({ Bucket: "data", Key: "copy/dst", CopySource: "/data/copy/src", MetadataDirective: "REPLACE", ContentType: "text/plain", Metadata: { b: "2" } }));
    expect(await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "copy/dst" }))).toMatchObject({ ContentType: "text/plain", Metadata: { b: "2" } });
    expect(await s3Failure(s3.send(new CopyObjectCommand({ Bucket: "data", Key: "copy/src", CopySource: "data/copy/src" })))).toMatchObject({ code: "InvalidRequest", status: 400 });
  });

  it("two PUTs of one key, or two uploads of one part, at once: both succeed, the last to finish wins (as on S3), nothing is left aside", async () => {
    const first = randomBytes(2 * MiB);
    const second = randomBytes(MiB);
    // The first PUT sends half its body, then waits: it holds the key's path.
    const slow = new PassThrough();
    slow.write(first.subarray(0, MiB));
    const putFirst = s3.send(new PutObjectCommand({ Bucket: "data", Key: "race/k", Body: slow, ContentLength: first.length }));
    await new Promise((r) => setTimeout(r, 300));
    const put2 = await s3.send(new PutObjectCommand({ Bucket: "data", Key: "race/k", Body: second }));
    expect(put2.ETag).toBe(`"${md5(second)}"`);
    expect((await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "race/k" }))).ETag).toBe(`"${md5(second)}"`);
    slow.end(first.subarray(MiB));
    expect((await putFirst).ETag).toBe(`"${md5(first)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "race/k" }));
    expect(got.ETag).toBe(`"${md5(first)}"`);
    // By digest: toEqual on megabytes blocks this process (and the in-process DataNodes' heartbeats) for seconds.
    expect(md5(await body(got))).toBe(md5(first));
    // An empty object raced the same way.
    const slow2 = new PassThrough();
    slow2.write(first.subarray(0, MiB));
    const putAgain = s3.send(new PutObjectCommand({ Bucket: "data", Key: "race/k", Body: slow2, ContentLength: first.length }));
    await new Promise((r) => setTimeout(r, 300));
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "race/k", Body: "" }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "race/k" }))).ContentLength).toBe(0);
    slow2.end(first.subarray(MiB));
    await putAgain;
    // Two uploads of one part: the last to finish is the part.
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "race/mp" }));
    const slow3 = new PassThrough();
    slow3.write(first.subarray(0, MiB));
    const partSlow = s3.send(new UploadPartCommand({ Bucket: "data", Key: "race/mp", UploadId, PartNumber: 1, Body: slow3, ContentLength: first.length }));
    await new Promise((r) => setTimeout(r, 300));
    await s3.send(new UploadPartCommand({ Bucket: "data", Key: "race/mp", UploadId, PartNumber: 1, Body: second }));
    slow3.end(first.subarray(MiB));
    const { ETag } = await partSlow;
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: "data", Key: "race/mp", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
    expect(md5(await body(await s3.send(new GetObjectCommand({ Bucket: "data", Key: "race/mp" }))))).toBe(md5(first));
    expect((await c.client().list("/.s3-multipart").catch(() => [])).filter((e) => e.path.includes("/put-"))).toEqual([]);
  });

  it("objects have no tags: reading and clearing them is answered, setting them is NotImplemented", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "tags/x", Body: "x" }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: "data", Key: "tags/x" }))).TagSet ?? []).toEqual([]);
    expect((await s3.send(new DeleteObjectTaggingCommand({ Bucket: "data", Key: "tags/x" }))).$metadata.httpStatusCode).toBe(204);
    expect(await s3Failure(s3.send(new GetObjectTaggingCommand({ Bucket: "data", Key: "tags/none" })))).toMatchObject({ code: "NoSuchKey", status: 404 });
    const tags = { TagSet: [{ Key: "k", Value: "v" }] };
    expect(await s3Failure(s3.send(new PutObjectTaggingCommand({ Bucket: "data", Key: "tags/x", Tagging: tags })))).toMatchObject({ code: "NotImplemented", status: 501 });
    // Tags given with a write are refused rather than dropped: nothing is stored.
    expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: "data", Key: "tags/y", Body: "y", Tagging: "k=v" })))).toMatchObject({ code: "NotImplemented", status: 501 });
    expect(await c.client().exists("/data/tags/y")).toBe(false);
  });

  it("conditional writes: If-None-Match: * creates only, If-Match replaces only the version named; of two racing writers one wins", async () => {
    const put = (Key: string, Body: string, cond: { IfMatch?: string; IfNoneMatch?: string } = {}) => s3.send(new PutObjectCommand({ Bucket: "data", Key, Body, ...cond }));
    const read = async (Key: string) => (await body(await s3.send(new GetObjectCommand({ Bucket: "data", Key })))).toString();
    const v1 = await put("cw/a", "one", { IfNoneMatch: "*" });
    expect(await s3Failure(put("cw/a", "two", { IfNoneMatch: "*" }))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    expect(await s3Failure(put("cw/a", "two", { IfMatch: '"00000000000000000000000000000000"' }))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    expect(await s3Failure(put("cw/none", "x", { IfMatch: v1.ETag! }))).toMatchObject({ code: "NoSuchKey", status: 404 });
    expect(await read("cw/a")).toBe("one");
    const v2 = await put("cw/a", "two", { IfMatch: v1.ETag! });
    expect(await read("cw/a")).toBe("two");
    await put("cw/a", "three", { IfMatch: "*" });
    // A file the TrainFS SDK wrote (no stored MD5) is matched by the ETag the gateway gives it.
    await c.client().writeFile("/data/cw/sdk", "sdk");
    const sdkEtag = (await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "cw/sdk" }))).ETag!;
    await put("cw/sdk", "replaced", { IfMatch: sdkEtag });
    expect(await read("cw/sdk")).toBe("replaced");
    expect(v2.ETag).not.toBe(v1.ETag);

    // Racing writers: slow bodies, so that both are in flight before either completes.
    const slow = (text: string) => {
      const stream = new PassThrough();
      setTimeout(() => stream.end(text), 300);
      return stream;
    };
    const race = async (Key: string, cond: { IfMatch?: string; IfNoneMatch?: string }) => {
      const results = await Promise.allSettled(["left", "right"].map((text) => s3.send(new PutObjectCommand({ Bucket: "data", Key, Body: slow(text), ContentLength: text.length, ...cond }))));
      const won = results.flatMap((res, i) => (res.status === "fulfilled" ? [["left", "right"][i]] : []));
      const lost = results.flatMap((res) => (res.status === "rejected" ? [res.reason as { name?: string; $metadata?: { httpStatusCode?: number } }] : []));
      return { won, lost };
    };
    const created = await race("cw/race-new", { IfNoneMatch: "*" });
    expect(created.won).toHaveLength(1);
    expect(created.lost.map((e) => e.$metadata?.httpStatusCode)).toEqual([412]);
    expect(await read("cw/race-new")).toBe(created.won[0]);
    const current = (await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "cw/race-new" }))).ETag!;
    const replaced = await race("cw/race-new", { IfMatch: current });
    expect(replaced.won).toHaveLength(1);
    expect(replaced.lost.map((e) => e.$metadata?.httpStatusCode)).toEqual([412]);
    expect(await read("cw/race-new")).toBe(replaced.won[0]);
    expect(await c.client().list("/.s3-multipart").catch(() => [])).toEqual([]);
  });

  it("conditional deletes: DeleteObject and DeleteObjects remove only the object their ETag, time and size name", async () => {
    const v = await s3.send(new PutObjectCommand({ Bucket: "data", Key: "cd/a", Body: "abc" }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "cd/a" }));
    const del = (cond: Record<string, unknown>) => s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "cd/a", ...cond }));
    expect(await s3Failure(del({ IfMatch: '"00000000000000000000000000000000"' }))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    expect(await s3Failure(del({ IfMatchSize: 4 }))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    expect(await s3Failure(del({ IfMatchLastModifiedTime: new Date(head.LastModified!.getTime() - 10_000) }))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    expect(await c.client().exists("/data/cd/a")).toBe(true);
    expect((await del({ IfMatch: v.ETag, IfMatchSize: 3, IfMatchLastModifiedTime: head.LastModified })).$metadata.httpStatusCode).toBe(204);
    expect(await c.client().exists("/data/cd")).toBe(false);
    expect(await s3Failure(del({ IfMatch: "*" }))).toMatchObject({ code: "NoSuchKey", status: 404 });

    const b = await s3.send(new PutObjectCommand({ Bucket: "data", Key: "cd/b", Body: "b" }));
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "cd/c", Body: "c" }));
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: "data", Delete: { Objects: [{ Key: "cd/b", ETag: b.ETag }, { Key: "cd/c", ETag: '"0000"' }, { Key: "cd/c", Size: 5 }] } }));
    expect(res.Deleted!.map((d) => d.Key)).toEqual(["cd/b"]);
    expect(res.Errors!.map((e) => [e.Key, e.Code])).toEqual([["cd/c", "PreconditionFailed"], ["cd/c", "PreconditionFailed"]]);
    expect(await c.client().exists("/data/cd/c")).toBe(true);
    await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "cd/c" }));
  });

  it("conditional CopyObject and CompleteMultipartUpload; a retried Complete is answered again", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "cw2/src", Body: "source" }));
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "cw2/dst", Body: "taken" }));
    expect(await s3Failure(s3.send(new CopyObjectCommand({ Bucket: "data", Key: "cw2/dst", CopySource: "data/cw2/src", IfNoneMatch: "*" })))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    await s3.send(new CopyObjectCommand({ Bucket: "data", Key: "cw2/new", CopySource: "data/cw2/src", IfNoneMatch: "*" }));
    const part = randomBytes(1000);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "cw2/dst" }));
    const p1 = await s3.send(new UploadPartCommand({ Bucket: "data", Key: "cw2/dst", UploadId, PartNumber: 1, Body: part }));
    const complete = (cond: { IfMatch?: string; IfNoneMatch?: string }) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: "data", Key: "cw2/dst", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] }, ...cond }));
    expect(await s3Failure(complete({ IfNoneMatch: "*" }))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    const dst = await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "cw2/dst" }));
    const done = await complete({ IfMatch: dst.ETag! });
    expect(md5(await body(await s3.send(new GetObjectCommand({ Bucket: "data", Key: "cw2/dst" }))))).toBe(md5(part));
    // Sent again (a lost answer, say): the same result, not NoSuchUpload; another upload ID is still unknown.
    expect((await complete({})).ETag).toBe(done.ETag);
    expect(await s3Failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: "data", Key: "cw2/dst", UploadId: "0".repeat(32), MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } })))).toMatchObject({ code: "NoSuchUpload", status: 404 });
  });

  it("ACLs: every bucket and object is its owner's alone; setting that is accepted, anything wider refused and nothing stored", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "acl2/x", Body: "x", ACL: "private" }));
    const owner = { ID: "trainfs", DisplayName: "trainfs" };
    const only = [{ Grantee: { ...owner, Type: "CanonicalUser" as const }, Permission: "FULL_CONTROL" as const }];
    expect(await s3.send(new GetBucketAclCommand({ Bucket: "data" }))).toMatchObject({ Owner: owner, Grants: only });
    expect(await s3.send(new GetObjectAclCommand({ Bucket: "data", Key: "acl2/x" }))).toMatchObject({ Owner: owner, Grants: only });
    expect(await s3Failure(s3.send(new GetObjectAclCommand({ Bucket: "data", Key: "acl2/none" })))).toMatchObject({ code: "NoSuchKey", status: 404 });
    await s3.send(new PutObjectAclCommand({ Bucket: "data", Key: "acl2/x", ACL: "private" }));
    await s3.send(new PutBucketAclCommand({ Bucket: "data", AccessControlPolicy: { Owner: owner, Grants: only } }));
    expect(await s3Failure(s3.send(new PutObjectAclCommand({ Bucket: "data", Key: "acl2/x", ACL: "public-read" })))).toMatchObject({ code: "NotImplemented", status: 501 });
    const publicRead = [...only, { Grantee: { Type: "Group" as const, URI: "http://acs.amazonaws.com/groups/global/AllUsers" }, Permission: "READ" as const }];
    expect(await s3Failure(s3.send(new PutBucketAclCommand({ Bucket: "data", AccessControlPolicy: { Owner: owner, Grants: publicRead } })))).toMatchObject({ code: "NotImplemented", status: 501 });
    expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: "data", Key: "acl2/public", Body: "p", ACL: "public-read" })))).toMatchObject({ code: "NotImplemented", status: 501 });
    expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: "data", Key: "acl2/granted", Body: "g", GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' })))).toMatchObject({ code: "NotImplemented", status: 501 });
    expect(await c.client().list("/data/acl2")).toHaveLength(1);
  });

  it("files put with the TrainFS SDK show as objects (with a non-MD5 ETag)", async () => {
    await c.client().put(Buffer.from("from the cli"), "/data/cli/file.txt");
    const head = await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "cli/file.txt" }));
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect((await body(await s3.send(new GetObjectCommand({ Bucket: "data", Key: "cli/file.txt" })))).toString()).toBe("from the cli");
  });
});

describe("folder markers (keys ending in '/', as the AWS console and s3fs make them)", () => {
  const EMPTY = '"d41d8cd98f00b204e9800998ecf8427e"';
  const keysOf = (l: { Contents?: Array<{ Key?: string }> }) => (l.Contents ?? []).map((o) => o.Key);
  const prefixesOf = (l: { CommonPrefixes?: Array<{ Prefix?: string }> }) => (l.CommonPrefixes ?? []).map((p) => p.Prefix);

  it("an empty PUT makes one; HEAD, GET and listings show it as S3 does; it outlives the objects below it", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: "data", Key: "fm/photos/", Body: "", ContentType: "application/x-directory", Metadata: { who: "console" } }));
    expect(put.ETag).toBe(EMPTY);
    expect((await c.client().stat("/data/fm/photos")).type).toBe("directory");
    const head = await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "fm/photos/" }));
    expect(head).toMatchObject({ ETag: EMPTY, ContentLength: 0, ContentType: "application/x-directory", Metadata: { who: "console" } });
    expect((await body(await s3.send(new GetObjectCommand({ Bucket: "data", Key: "fm/photos/" })))).length).toBe(0);
    // A directory without a marker is no object.
    expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: "data", Key: "fm/" })))).toMatchObject({ status: 404 });

    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "fm/photos/cat.jpg", Body: "meow" }));
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "fm/photos-old", Body: "old" }));
    expect(keysOf(await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "fm/" })))).toEqual(["fm/photos-old", "fm/photos/", "fm/photos/cat.jpg"]);
    const top = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "fm/", Delimiter: "/" }));
    expect([keysOf(top), prefixesOf(top)]).toEqual([["fm/photos-old"], ["fm/photos/"]]);
    const inside = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "fm/photos/", Delimiter: "/" }));
    expect(inside.Contents!.map((o) => [o.Key, o.Size, o.ETag])).toEqual([["fm/photos/", 0, EMPTY], ["fm/photos/cat.jpg", 4, `"${md5(Buffer.from("meow"))}"`]]);
    expect(keysOf(await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "fm/", StartAfter: "fm/photos/" })))).toEqual(["fm/photos/cat.jpg"]);

    // Deleting the object below keeps the marker (and its directory); deleting the marker then removes the directory.
    await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "fm/photos/cat.jpg" }));
    expect(keysOf(await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "fm/photos" })))).toEqual(["fm/photos-old", "fm/photos/"]);
    expect((await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "fm/photos/" }))).$metadata.httpStatusCode).toBe(204);
    expect(await c.client().exists("/data/fm/photos")).toBe(false);
    expect(keysOf(await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "fm/" })))).toEqual(["fm/photos-old"]);
    await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "fm/photos-old" }));
    expect(await c.client().exists("/data/fm")).toBe(false);
  });

  it("a marker with objects below loses only its own key when deleted; DeleteObjects and copies take markers; a marker keeps a bucket from being deleted", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "fm2/a/", Body: "" }));
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "fm2/a/x", Body: "x" }));
    await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "fm2/a/" }));
    expect(keysOf(await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "fm2/" })))).toEqual(["fm2/a/x"]);
    expect(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: "data", Key: "fm2/a/" })))).toMatchObject({ status: 404 });

    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "fm2/b/", Body: "", Metadata: { k: "v" } }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket: "data", Key: "fm2/c/", CopySource: "data/fm2/b/" }));
    expect(copied.CopyObjectResult!.ETag).toBe(EMPTY);
    expect((await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "fm2/c/" }))).Metadata).toEqual({ k: "v" });
    // Copied to a plain key, a marker is an empty object.
    await s3.send(new CopyObjectCommand({ Bucket: "data", Key: "fm2/b-file", CopySource: "data/fm2/b/" }));
    expect(await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "fm2/b-file" }))).toMatchObject({ ContentLength: 0, ETag: EMPTY });
    expect(await s3Failure(s3.send(new CopyObjectCommand({ Bucket: "data", Key: "fm2/d/", CopySource: "data/fm2/a/x" })))).toMatchObject({ code: "InvalidArgument", status: 400 });
    const deleted = await s3.send(new DeleteObjectsCommand({ Bucket: "data", Delete: { Objects: [{ Key: "fm2/b/" }, { Key: "fm2/c/" }, { Key: "fm2/b-file" }, { Key: "fm2/a/x" }] } }));
    expect(deleted.Errors ?? []).toEqual([]);
    expect(await c.client().exists("/data/fm2")).toBe(false);

    await s3.send(new CreateBucketCommand({ Bucket: "marked" }));
    await s3.send(new PutObjectCommand({ Bucket: "marked", Key: "only/", Body: "" }));
    expect(await s3Failure(s3.send(new DeleteBucketCommand({ Bucket: "marked" })))).toMatchObject({ code: "BucketNotEmpty", status: 409 });
    await s3.send(new DeleteObjectCommand({ Bucket: "marked", Key: "only/" }));
    await s3.send(new DeleteBucketCommand({ Bucket: "marked" }));
  });

  it("a marker cannot hold bytes, nor share its path with a file; multipart cannot make one", async () => {
    expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: "data", Key: "fm3/", Body: "bytes" })))).toMatchObject({ code: "InvalidArgument", status: 400, message: expect.stringContaining("holds no bytes") });
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "fm3", Body: "a file" }));
    expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: "data", Key: "fm3/", Body: "" })))).toMatchObject({ code: "InvalidArgument", status: 400 });
    expect(await s3Failure(s3.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "fm4/" })))).toMatchObject({ code: "InvalidArgument", status: 400 });
    expect(await s3Failure(s3.send(new PutObjectCommand({ Bucket: "data", Key: "/", Body: "" })))).toMatchObject({ code: "InvalidArgument", status: 400 });
    await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "fm3" }));
    expect(await c.client().exists("/data/fm4")).toBe(false);
  });
});

describe("browser form uploads (PostObject), with policies signed by the SDK's createPresignedPost", () => {
  /** Posts a form as a browser would: the fields, then the file. */
  const post = async (url: string, fields: Record<string, string>, file: Buffer, filename = "photo.jpg", fieldsAsFiles = false) => {
    const form = new FormData();
    // Python's requests (files=) sends every field as a file part named after it.
    for (const [k, v] of Object.entries(fields)) {
      if (fieldsAsFiles) form.append(k, new Blob([v]), k);
      else form.append(k, v);
    }
    form.append("file", new Blob([new Uint8Array(file)]), filename);
    const res = await fetch(url, { method: "POST", body: form, redirect: "manual" });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] };
  };

  it("stores the file under the policy's key, with its fields' metadata, answering as the form asks", async () => {
    const data = randomBytes(3000);
    const { url, fields } = await createPresignedPost(s3, {
      Bucket: "data",
      Key: "form/${filename}",
      Conditions: [["content-length-range", 1, 10_000], ["starts-with", "$Content-Type", "image/"], ["starts-with", "$x-amz-meta-who", ""]],
      Fields: { "Content-Type": "image/jpeg", success_action_status: "201" },
      Expires: 60,
    });
    const res = await post(url, { ...fields, "x-amz-meta-who": "browser" }, data);
    expect(res.status).toBe(201);
    expect(res.text).toContain("<Key>form/photo.jpg</Key>");
    expect(res.headers.get("etag")).toBe(`"${md5(data)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "form/photo.jpg" }));
    expect(got).toMatchObject({ ContentType: "image/jpeg", Metadata: { who: "browser" }, ETag: `"${md5(data)}"` });
    expect(md5(await body(got))).toBe(md5(data));
    // Default answer: 204.
    const plain = await createPresignedPost(s3, { Bucket: "data", Key: "form/plain.bin", Expires: 60 });
    expect((await post(plain.url, plain.fields, data)).status).toBe(204);
    // Fields sent as file parts are fields all the same.
    expect(await post(plain.url, plain.fields, data.subarray(0, 5), "f", true)).toMatchObject({ status: 204 });
    expect((await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "form/plain.bin" }))).ContentLength).toBe(5);
  });

  it("refuses forms that break their policy, are signed wrongly, by a read-only key or not at all; nothing stored", async () => {
    const data = randomBytes(2000);
    const signed = await createPresignedPost(s3, { Bucket: "data", Key: "form2/x", Conditions: [["content-length-range", 1, 1000]], Expires: 60 });
    const cases: Array<[string, Promise<{ status: number; code?: string | undefined }>, number, string]> = [
      ["too large for content-length-range", post(signed.url, signed.fields, data), 400, "EntityTooLarge"],
      ["an extra field", post(signed.url, { ...signed.fields, "x-amz-meta-extra": "1" }, data.subarray(0, 10)), 403, "AccessDenied"],
      ["another key", post(signed.url, { ...signed.fields, key: "form2/other" }, data.subarray(0, 10)), 403, "AccessDenied"],
      ["a changed policy", post(signed.url, { ...signed.fields, Policy: Buffer.from('{"expiration":"2100-01-01T00:00:00Z","conditions":[]}').toString("base64") }, data.subarray(0, 10)), 403, "SignatureDoesNotMatch"],
      ["no policy", post(signed.url, { key: "form2/x" }, data.subarray(0, 10)), 403, "AccessDenied"],
      ["a Signature Version 2 policy", post(signed.url, { key: "form2/x", AWSAccessKeyId: "AKIA", policy: signed.fields.Policy!, signature: "c2ln" }, data.subarray(0, 10)), 403, "AccessDenied"],
      ["a read-only key", createPresignedPost(ro, { Bucket: "data", Key: "form2/x", Expires: 60 }).then((p) => post(p.url, p.fields, data.subarray(0, 10))), 403, "AccessDenied"],
      ["an expired policy", createPresignedPost(s3, { Bucket: "data", Key: "form2/x", Expires: -10 }).then((p) => post(p.url, p.fields, data.subarray(0, 10))), 403, "AccessDenied"],
      ["a public ACL", createPresignedPost(s3, { Bucket: "data", Key: "form2/x", Fields: { acl: "public-read" }, Expires: 60 }).then((p) => post(p.url, p.fields, data.subarray(0, 10))), 501, "NotImplemented"],
      ["a field over 64 KiB", post(signed.url, { ...signed.fields, "x-ignore-note": "n".repeat(70_000) }, data.subarray(0, 10)), 400, "MaxPostPreDataLengthExceeded"],
      ["a field over 64 KiB sent as a file part", post(signed.url, { ...signed.fields, "x-ignore-note": "n".repeat(70_000) }, data.subarray(0, 10), "f", true), 400, "MaxPostPreDataLengthExceeded"],
    ];
    for (const [name, result, status, code] of cases) expect(await result, name).toMatchObject({ status, code });
    expect((await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "form2/" }))).KeyCount).toBe(0);
    const bad = await fetch(signed.url, { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x" }, body: "--x\r\nnot a form" });
    expect(bad.status).toBe(400);
  });
});

describe("listing", () => {
  const keys = ["l/a", "l/a-b", "l/a.txt", "l/a/b", "l/a/c/d", "l/ab", "l/b/x", "l/é"];
  beforeAll(async () => {
    for (const k of keys.filter((k) => k !== "l/a")) await s3.send(new PutObjectCommand({ Bucket: "data", Key: k, Body: k }));
  });
  const expected = keys.filter((k) => k !== "l/a");

  it("ListObjectsV2 in UTF-8 byte order, with prefix, delimiter, pages and start-after", async () => {
    const all = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "l/" }));
    expect(all.Contents!.map((o) => o.Key)).toEqual(expected);
    expect(all.KeyCount).toBe(expected.length);
    const rolled = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "l/", Delimiter: "/" }));
    expect(rolled.Contents!.map((o) => o.Key)).toEqual(["l/a-b", "l/a.txt", "l/ab", "l/é"]);
    expect(rolled.CommonPrefixes!.map((p) => p.Prefix)).toEqual(["l/a/", "l/b/"]);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "l/", MaxKeys: 3, ContinuationToken: token }));
      seen.push(...page.Contents!.map((o) => o.Key!));
      expect(page.Contents!.length).toBeLessThanOrEqual(3);
      token = page.NextContinuationToken;
      if (page.IsTruncated) expect(token).toBeTruthy();
    } while (token);
    expect(seen).toEqual(expected);
    const after = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "l/", StartAfter: "l/a/b" }));
    expect(after.Contents!.map((o) => o.Key)).toEqual(expected.slice(expected.indexOf("l/a/b") + 1));
    const item = all.Contents!.find((o) => o.Key === "l/ab")!;
    expect(item).toMatchObject({ Size: 4, ETag: `"${md5(Buffer.from("l/ab"))}"` });
  });

  it("ListObjectsV2: the owner only with fetch-owner; an empty continuation token lists from the start and is echoed", async () => {
    const plain = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "l/" }));
    expect(plain.Contents![0]!.Owner).toBeUndefined();
    const owned = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "l/", FetchOwner: true }));
    expect(owned.Contents![0]!.Owner).toMatchObject({ ID: expect.any(String) });
    const res = await signedFetch(gw.address, rw, { method: "GET", path: "/data", query: "continuation-token=&list-type=2&prefix=l%2F" });
    expect(res.status).toBe(200);
    expect(res.text).toContain("<ContinuationToken></ContinuationToken>");
    expect([...res.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1])).toEqual(expected);
  });

  it("ListObjects (V1) pages with marker", async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: "data", Prefix: "l/", MaxKeys: 4 }));
    expect(first.IsTruncated).toBe(true);
    const rest = await s3.send(new ListObjectsCommand({ Bucket: "data", Prefix: "l/", Marker: first.Contents!.at(-1)!.Key }));
    expect([...first.Contents!, ...rest.Contents!].map((o) => o.Key)).toEqual(expected);
  });

  it("encoding-type=url encodes keys and prefixes; V1 gives its Prefix as sent, as S3 does", async () => {
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: "data", Prefix: "l/é", EncodingType: "url" }));
    expect([v1.Prefix, v1.Contents!.map((o) => o.Key)]).toEqual(["l/é", ["l/%C3%A9"]]);
    const v2 = await s3.send(new ListObjectsV2Command({ Bucket: "data", Prefix: "l/é", EncodingType: "url" }));
    expect([v2.Prefix, v2.Contents!.map((o) => o.Key)]).toEqual(["l/%C3%A9", ["l/%C3%A9"]]);
  });
});

describe("versions of a bucket never versioned (every TrainFS bucket), as S3 answers them", () => {
  it("GetBucketVersioning has no status; ListObjectVersions lists each object once, as version \"null\", paged by key marker", async () => {
    const keys = ["v/a", "v/b/c", "v/b/d", "v/e"];
    for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: "data", Key: k, Body: k }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "data" }))).Status).toBeUndefined();
    const all = await s3.send(new ListObjectVersionsCommand({ Bucket: "data", Prefix: "v/" }));
    expect(all.Versions!.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size])).toEqual(keys.map((k) => [k, "null", true, k.length]));
    expect(all.Versions![0]!.ETag).toBe(`"${md5(Buffer.from("v/a"))}"`);
    expect(all.IsTruncated).toBe(false);
    expect(all.DeleteMarkers).toBeUndefined();
    const rolled = await s3.send(new ListObjectVersionsCommand({ Bucket: "data", Prefix: "v/", Delimiter: "/" }));
    expect(rolled.Versions!.map((v) => v.Key)).toEqual(["v/a", "v/e"]);
    expect(rolled.CommonPrefixes!.map((p) => p.Prefix)).toEqual(["v/b/"]);
    // Paged the way cleanup scripts page it (s3-tests' nuke_bucket, boto3's object_versions).
    const seen: string[] = [];
    let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: "data", Prefix: "v/", MaxKeys: 3, ...markers }));
      seen.push(...page.Versions!.map((v) => v.Key!));
      if (!page.IsTruncated) break;
      expect(page).toMatchObject({ NextKeyMarker: "v/b/d", NextVersionIdMarker: "null" });
      markers = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
    }
    expect(seen).toEqual(keys);
    expect(await s3Failure(s3.send(new ListObjectVersionsCommand({ Bucket: "data", VersionIdMarker: "null" })))).toMatchObject({ code: "InvalidArgument", status: 400 });
    expect(await s3Failure(s3.send(new ListObjectVersionsCommand({ Bucket: "nope" })))).toMatchObject({ code: "NoSuchBucket", status: 404 });
  });

  it("version \"null\" reads and deletes the object; any other version id names none and changes nothing", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "w/1", Body: "one" }));
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "w/2", Body: "two" }));
    expect((await body(await s3.send(new GetObjectCommand({ Bucket: "data", Key: "w/1", VersionId: "null" })))).toString()).toBe("one");
    expect((await s3.send(new HeadObjectCommand({ Bucket: "data", Key: "w/1", VersionId: "null" }))).ContentLength).toBe(3);
    expect(await s3Failure(s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "w/1", VersionId: "v2" })))).toMatchObject({ code: "NoSuchVersion", status: 404 });
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: "data", Delete: { Objects: [{ Key: "w/1", VersionId: "null" }, { Key: "w/2", VersionId: "v2" }] } }));
    expect(res.Deleted).toEqual([{ Key: "w/1", VersionId: "null" }]);
    expect(res.Errors).toEqual([expect.objectContaining({ Key: "w/2", VersionId: "v2", Code: "NoSuchVersion" })]);
    expect(await c.client().exists("/data/w/1")).toBe(false);
    expect(await c.client().exists("/data/w/2")).toBe(true);
    await s3.send(new DeleteObjectCommand({ Bucket: "data", Key: "w/2", VersionId: "null" }));
    expect(await c.client().exists("/data/w")).toBe(false);
  });
});

describe("multipart", () => {
  it("lib-storage uploads in 3 parts; completion joins the parts' chunks without copying", async () => {
    const data = randomBytes(12 * MiB + 5);
    const upload = new Upload({ client: s3, params: { Bucket: "data", Key: "mp/big.bin", Body: data, ContentType: "application/x-big" }, partSize: 5 * MiB, queueSize: 2 });
    const done = await upload.done();
    const partMd5s = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB, 10 * MiB), data.subarray(10 * MiB)].map((p) => createHash("md5").update(p).digest());
    const expectedEtag = `"${createHash("md5").update(Buffer.concat(partMd5s)).digest("hex")}-3"`;
    expect(done.ETag).toBe(expectedEtag);
    const got = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "mp/big.bin" }));
    expect((await body(got)).equals(data)).toBe(true);
    expect(got).toMatchObject({ ETag: expectedEtag, ContentType: "application/x-big" });
    // Parts of 5, 5 and 2 MiB in 4 MiB chunks: chunks of 4, 1, 4, 1 and 2 MiB (+5 bytes).
    const status = await c.client().stat("/data/mp/big.bin");
    expect(status.chunkCount).toBe(5);
    expect(await c.client().exists("/.s3-multipart")).toBe(true);
    expect((await c.client().list("/.s3-multipart")).length).toBe(0);
  });

  it("create, upload parts, list parts and uploads, abort; completion checks ETags, order and sizes", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "mp/manual" }));
    const p1 = randomBytes(5 * MiB);
    const p2 = randomBytes(1000);
    const e1 = (await s3.send(new UploadPartCommand({ Bucket: "data", Key: "mp/manual", UploadId, PartNumber: 1, Body: p1 }))).ETag!;
    const e2 = (await s3.send(new UploadPartCommand({ Bucket: "data", Key: "mp/manual", UploadId, PartNumber: 2, Body: p2 }))).ETag!;
    const small = (await s3.send(new UploadPartCommand({ Bucket: "data", Key: "mp/manual", UploadId, PartNumber: 3, Body: p2 }))).ETag!;
    expect(e1).toBe(`"${md5(p1)}"`);
    const parts = await s3.send(new ListPartsCommand({ Bucket: "data", Key: "mp/manual", UploadId }));
    expect(parts.Parts!.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([[1, 5 * MiB, e1], [2, 1000, e2], [3, 1000, small]]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: "data" }));
    expect(uploads.Uploads!.map((u) => [u.Key, u.UploadId])).toContainEqual(["mp/manual", UploadId]);
    const complete = (Parts: Array<{ PartNumber: number; ETag: string }>) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: "data", Key: "mp/manual", UploadId, MultipartUpload: { Parts } }));
    expect(await s3Failure(complete([{ PartNumber: 1, ETag: e2 }]))).toMatchObject({ code: "InvalidPart", status: 400 });
    expect(await s3Failure(complete([{ PartNumber: 4, ETag: e1 }]))).toMatchObject({ code: "InvalidPart", status: 400 });
    expect(await s3Failure(complete([{ PartNumber: 2, ETag: e2 }, { PartNumber: 1, ETag: e1 }]))).toMatchObject({ code: "InvalidPartOrder", status: 400 });
    expect(await s3Failure(complete([{ PartNumber: 2, ETag: e2 }, { PartNumber: 3, ETag: small }]))).toMatchObject({ code: "EntityTooSmall", status: 400 });
    const done = await complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }]);
    expect(done.ETag).toMatch(/-2"$/);
    expect((await body(await s3.send(new GetObjectCommand({ Bucket: "data", Key: "mp/manual" })))).equals(Buffer.concat([p1, p2]))).toBe(true);
    expect(await s3Failure(s3.send(new ListPartsCommand({ Bucket: "data", Key: "mp/manual", UploadId })))).toMatchObject({ code: "NoSuchUpload", status: 404 });

    const aborted = await s3.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "mp/aborted" }));
    await s3.send(new UploadPartCommand({ Bucket: "data", Key: "mp/aborted", UploadId: aborted.UploadId, PartNumber: 1, Body: p2 }));
    const chunksBefore = c.nameNode.store.chunkCount();
    expect((await s3.send(new AbortMultipartUploadCommand({ Bucket: "data", Key: "mp/aborted", UploadId: aborted.UploadId }))).$metadata.httpStatusCode).toBe(204);
    expect(c.nameNode.store.chunkCount()).toBe(chunksBefore - 1);
    expect(await s3Failure(s3.send(new AbortMultipartUploadCommand({ Bucket: "data", Key: "mp/aborted", UploadId: aborted.UploadId })))).toMatchObject({ code: "NoSuchUpload" });
  });

  it("UploadPartCopy makes parts of existing objects' bytes, whole or by x-amz-copy-source-range, with the copy-source conditions", async () => {
    const source = randomBytes(10 * MiB + 11);
    const tail = randomBytes(1000);
    const src = await s3.send(new PutObjectCommand({ Bucket: "data", Key: "upc/src", Body: source }));
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "upc/tail", Body: tail }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "upc/joined", ContentType: "x/joined" }));
    const copy = (PartNumber: number, CopySource: string, CopySourceRange?: string, extra: Record<string, unknown> = {}) =>
      s3.send(new UploadPartCopyCommand({ Bucket: "data", Key: "upc/joined", UploadId, PartNumber, CopySource, CopySourceRange, ...extra }));
    const p1 = await copy(1, "data/upc/src", `bytes=${5 * MiB}-${10 * MiB + 10}`, { CopySourceIfMatch: src.ETag });
    expect(p1.CopyPartResult!.ETag).toBe(`"${md5(source.subarray(5 * MiB))}"`);
    const p2 = await copy(2, "data/upc/src", `bytes=0-${5 * MiB - 1}`);
    expect(p2.CopyPartResult!.ETag).toBe(`"${md5(source.subarray(0, 5 * MiB))}"`);
    const p3 = await copy(3, "/data/upc/tail");
    expect(p3.CopyPartResult!.ETag).toBe(`"${md5(tail)}"`);
    // A failed condition, a range past the end, a malformed range, a missing source: nothing stored.
    expect(await s3Failure(copy(4, "data/upc/src", undefined, { CopySourceIfMatch: '"0000"' }))).toMatchObject({ code: "PreconditionFailed", status: 412 });
    expect(await s3Failure(copy(4, "data/upc/tail", "bytes=0-1000"))).toMatchObject({ code: "InvalidRange", status: 416 });
    for (const bad of ["0-2", "bytes=0", "bytes=-5", "bytes=0-2,3-5", "bytes=5-2"]) {
      expect(await s3Failure(copy(4, "data/upc/tail", bad)), bad).toMatchObject({ code: "InvalidArgument", status: 400 });
    }
    expect(await s3Failure(copy(4, "data/upc/none"))).toMatchObject({ code: "NoSuchKey", status: 404 });
    expect((await s3.send(new ListPartsCommand({ Bucket: "data", Key: "upc/joined", UploadId }))).Parts!.map((p) => [p.PartNumber, p.Size])).toEqual([
      [1, 5 * MiB + 11],
      [2, 5 * MiB],
      [3, 1000],
    ]);
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: "data", Key: "upc/joined", UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult!.ETag }, { PartNumber: 2, ETag: p2.CopyPartResult!.ETag }, { PartNumber: 3, ETag: p3.CopyPartResult!.ETag }] },
    }));
    const joined = await s3.send(new GetObjectCommand({ Bucket: "data", Key: "upc/joined" }));
    expect(joined.ContentType).toBe("x/joined");
    expect(md5(await body(joined))).toBe(md5(Buffer.concat([source.subarray(5 * MiB), source.subarray(0, 5 * MiB), tail])));
  });

  it("uploads older than the expiry are swept, their chunks trashed", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "mp/stale" }));
    await s3.send(new UploadPartCommand({ Bucket: "data", Key: "mp/stale", UploadId, PartNumber: 1, Body: randomBytes(2000) }));
    const before = c.nameNode.store.chunkCount();
    // Not yet expired: kept.
    await gw.gateway!.multipart.sweep(60_000);
    expect(await c.client().exists(`/.s3-multipart/${UploadId}`)).toBe(true);
    // A second gateway sweeping at the same time is harmless.
    await Promise.all([gw.gateway!.multipart.sweep(0), gw.gateway!.multipart.sweep(0)]);
    expect(await c.client().exists(`/.s3-multipart/${UploadId}`)).toBe(false);
    expect(c.nameNode.store.chunkCount()).toBe(before - 1);
  });
});

describe("errors", () => {
  it("every error named by the issue, with its code and status", async () => {
    // Thunks, called one at a time: a promise made early and awaited late would
    // reject unobserved meanwhile (an unhandled rejection).
    const table: Array<[string, () => Promise<unknown>, string, number]> = [
      ["missing bucket", () => s3.send(new GetObjectCommand({ Bucket: "nope", Key: "k" })), "NoSuchBucket", 404],
      ["missing key", () => s3.send(new GetObjectCommand({ Bucket: "data", Key: "nope" })), "NoSuchKey", 404],
      ["PUT into a missing bucket", () => s3.send(new PutObjectCommand({ Bucket: "nope", Key: "a/b", Body: "x" })), "NoSuchBucket", 404],
      ["conditional PUT into a missing bucket", () => s3.send(new PutObjectCommand({ Bucket: "nope", Key: "k", Body: "x", IfNoneMatch: "*" })), "NoSuchBucket", 404],
      ["If-Match PUT into a missing bucket", () => s3.send(new PutObjectCommand({ Bucket: "nope", Key: "k", Body: "x", IfMatch: '"0"' })), "NoSuchBucket", 404],
      ["bad bucket name", () => s3.send(new CreateBucketCommand({ Bucket: "Bad_Name" })), "InvalidBucketName", 400],
      ["empty segment", () => s3.send(new PutObjectCommand({ Bucket: "data", Key: "a//b", Body: "x" })), "InvalidArgument", 400],
      ["dot-dot segment", () => s3.send(new PutObjectCommand({ Bucket: "data", Key: "a/../b", Body: "x" })), "InvalidArgument", 400],
      ["key too long", () => s3.send(new PutObjectCommand({ Bucket: "data", Key: "k".repeat(1025), Body: "x" })), "KeyTooLongError", 400],
      ["wrong Content-MD5", () => s3.send(new PutObjectCommand({ Bucket: "data", Key: "md5", Body: "abc", ContentMD5: Buffer.alloc(16).toString("base64") })), "BadDigest", 400],
      ["no such upload", () => s3.send(new UploadPartCommand({ Bucket: "data", Key: "k", UploadId: "0".repeat(32), PartNumber: 1, Body: "x" })), "NoSuchUpload", 404],
      ["unsupported", () => s3.send(new GetBucketTaggingCommand({ Bucket: "data" })), "NotImplemented", 501],
      ["versioning turned on", () => s3.send(new PutBucketVersioningCommand({ Bucket: "data", VersioningConfiguration: { Status: "Enabled" } })), "NotImplemented", 501],
      ["SSE-S3", () => s3.send(new PutObjectCommand({ Bucket: "data", Key: "sse", Body: "x", ServerSideEncryption: "AES256" })), "NotImplemented", 501],
      ["SSE-KMS", () => s3.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "sse", ServerSideEncryption: "aws:kms", SSEKMSKeyId: "k" })), "NotImplemented", 501],
      ["no such version", () => s3.send(new GetObjectCommand({ Bucket: "data", Key: "k", VersionId: "3sL4kqtJlcpXroDTDmJ" })), "NoSuchVersion", 404],
      ["wrong secret", () => s3Client(gw.address, { ...rw, secretAccessKey: "not-the-secret" }).send(new ListBucketsCommand({})), "SignatureDoesNotMatch", 403],
      ["unknown key", () => s3Client(gw.address, generateS3Credential()).send(new ListBucketsCommand({})), "InvalidAccessKeyId", 403],
      ["skewed clock", () => s3Client(gw.address, rw, { systemClockOffset: -20 * 60_000, maxAttempts: 1 }).send(new ListBucketsCommand({})), "RequestTimeTooSkewed", 403],
      ["read-only write", () => ro.send(new PutObjectCommand({ Bucket: "data", Key: "ro", Body: "x" })), "AccessDenied", 403],
      ["anonymous", () => s3Client(gw.address, undefined).send(new ListBucketsCommand({})), "AccessDenied", 403],
    ];
    for (const [what, call, code, status] of table) expect(await s3Failure(call()), what).toMatchObject({ code, status });
    // A PUT never makes its bucket.
    expect(await c.client().exists("/nope")).toBe(false);
    expect(await c.client().exists("/data/md5")).toBe(false);
    expect(await c.client().exists("/data/sse")).toBe(false);
  });

  it("a payload hash that lies, a bad checksum trailer or header, bad XML", async () => {
    const lie = await signedFetch(gw.address, rw, { method: "PUT", path: "/data/lie", body: Buffer.from("hello"), payloadHash: "0".repeat(64) });
    expect([lie.status, errorCode(lie.text)]).toEqual([400, "XAmzContentSHA256Mismatch"]);
    const badCrc = await signedFetch(gw.address, rw, { method: "PUT", path: "/data/crc", body: Buffer.from("hello"), headers: { "x-amz-checksum-crc32": "AAAAAA==" } });
    expect([badCrc.status, errorCode(badCrc.text)]).toEqual([400, "BadDigest"]);
    const goodCrc = await signedFetch(gw.address, rw, { method: "PUT", path: "/data/crc", body: Buffer.from("hello world"), headers: { "x-amz-checksum-crc32": "DUoRhQ==" } });
    expect(goodCrc.status).toBe(200);
    const trailer = Buffer.from("b\r\nhello world\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n");
    const badTrailer = await signedFetch(gw.address, rw, {
      method: "PUT", path: "/data/trailer", body: trailer, payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      headers: { "content-encoding": "aws-chunked", "x-amz-decoded-content-length": "11", "x-amz-trailer": "x-amz-checksum-crc32c" },
    });
    expect([badTrailer.status, errorCode(badTrailer.text)]).toEqual([400, "BadDigest"]);
    // CRC-32C of "hello world" is c99465aa.
    const goodTrailer = await signedFetch(gw.address, rw, {
      method: "PUT", path: "/data/trailer", body: Buffer.from(`b\r\nhello world\r\n0\r\nx-amz-checksum-crc32c:${Buffer.from("c99465aa", "hex").toString("base64")}\r\n\r\n`),
      payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      headers: { "content-encoding": "aws-chunked", "x-amz-decoded-content-length": "11", "x-amz-trailer": "x-amz-checksum-crc32c" },
    });
    expect(goodTrailer.status).toBe(200);
    const sha = await signedFetch(gw.address, rw, { method: "PUT", path: "/data/sha", body: Buffer.from("hello"), headers: { "x-amz-checksum-sha256": createHash("sha256").update("hello").digest("base64") } });
    expect(sha.status).toBe(200);
    const xml = await signedFetch(gw.address, rw, { method: "POST", path: "/data", query: "delete=", body: Buffer.from("<Delete><Object>") });
    expect([xml.status, errorCode(xml.text)]).toEqual([400, "MalformedXML"]);
    const stale = await signedFetch(gw.address, rw, { method: "GET", path: "/", date: new Date(Date.now() + 16 * 60_000) });
    expect([stale.status, errorCode(stale.text)]).toEqual([403, "RequestTimeTooSkewed"]);
    expect(await c.client().exists("/data/lie")).toBe(false);
    expect((await c.client().readFile("/data/trailer")).toString()).toBe("hello world");
  });
});

describe("signed chunks with a signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)", () => {
  const chunks = [randomBytes(64 * 1024), randomBytes(64 * 1024), randomBytes(1000)];
  const whole = Buffer.concat(chunks);
  const crc32 = (data: Buffer) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(zlibCrc32(data) >>> 0);
    return out.toString("base64");
  };

  it("a body whose chunk and trailer signatures and CRC-32 trailer match is stored, with its MD5 ETag", async () => {
    const res = await signedTrailerPut(gw.address, rw, { path: "/data/signed-trailer", chunks, trailer: ["x-amz-checksum-crc32", crc32(whole)] });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${createHash("md5").update(whole).digest("hex")}"`);
    expect((await c.client().readFile("/data/signed-trailer")).equals(whole)).toBe(true);
  });

  it("a wrong trailer signature, a trailer changed after signing or a changed chunk → SignatureDoesNotMatch; a signed wrong checksum → BadDigest; nothing stored", async () => {
    const cases: Array<[string, Parameters<typeof signedTrailerPut>[2], string]> = [
      ["wrong trailer signature", { path: "/data/t-sig", chunks, trailer: ["x-amz-checksum-crc32", crc32(whole)], tamper: { trailerSignature: "0".repeat(64) } }, "SignatureDoesNotMatch"],
      ["trailer changed after signing", { path: "/data/t-changed", chunks, trailer: ["x-amz-checksum-crc32", crc32(whole)], tamper: { trailerValue: "AAAAAA==" } }, "SignatureDoesNotMatch"],
      ["chunk changed after signing", { path: "/data/t-chunk", chunks, trailer: ["x-amz-checksum-crc32", crc32(whole)], tamper: { chunkByte: true } }, "SignatureDoesNotMatch"],
      ["signed wrong CRC-32", { path: "/data/t-crc", chunks, trailer: ["x-amz-checksum-crc32", "AAAAAA=="] }, "BadDigest"],
    ];
    for (const [what, request, code] of cases) {
      const res = await signedTrailerPut(gw.address, rw, request);
      expect([res.status, errorCode(res.text)], what).toEqual([code === "BadDigest" ? 400 : 403, code]);
      expect(await c.client().exists(request.path), what).toBe(false);
    }
  });
});

describe("access", () => {
  it("no, wrong and read-only credentials on every operation", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "acl/x", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "acl/marked/", Body: "" }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "acl/mp" }));
    const ops: Array<[string, boolean, (cl: S3Client) => Promise<unknown>]> = [
      ["ListBuckets", false, (cl) => cl.send(new ListBucketsCommand({}))],
      ["HeadBucket", false, (cl) => cl.send(new HeadBucketCommand({ Bucket: "data" }))],
      ["GetBucketLocation", false, (cl) => cl.send(new GetBucketLocationCommand({ Bucket: "data" }))],
      ["ListObjectsV2", false, (cl) => cl.send(new ListObjectsV2Command({ Bucket: "data" }))],
      ["ListObjects", false, (cl) => cl.send(new ListObjectsCommand({ Bucket: "data" }))],
      ["ListObjectVersions", false, (cl) => cl.send(new ListObjectVersionsCommand({ Bucket: "data" }))],
      ["GetBucketVersioning", false, (cl) => cl.send(new GetBucketVersioningCommand({ Bucket: "data" }))],
      ["GetObject", false, (cl) => cl.send(new GetObjectCommand({ Bucket: "data", Key: "acl/x" }))],
      ["HeadObject", false, (cl) => cl.send(new HeadObjectCommand({ Bucket: "data", Key: "acl/x" }))],
      ["GetBucketAcl", false, (cl) => cl.send(new GetBucketAclCommand({ Bucket: "data" }))],
      ["GetObjectAcl", false, (cl) => cl.send(new GetObjectAclCommand({ Bucket: "data", Key: "acl/x" }))],
      ["GetObjectTagging", false, (cl) => cl.send(new GetObjectTaggingCommand({ Bucket: "data", Key: "acl/x" }))],
      ["HeadObject (folder marker)", false, (cl) => cl.send(new HeadObjectCommand({ Bucket: "data", Key: "acl/marked/" }))],
      ["ListParts", false, (cl) => cl.send(new ListPartsCommand({ Bucket: "data", Key: "acl/mp", UploadId }))],
      ["ListMultipartUploads", false, (cl) => cl.send(new ListMultipartUploadsCommand({ Bucket: "data" }))],
      ["CreateBucket", true, (cl) => cl.send(new CreateBucketCommand({ Bucket: "acl-bucket" }))],
      ["DeleteBucket", true, (cl) => cl.send(new DeleteBucketCommand({ Bucket: "data" }))],
      ["PutObject", true, (cl) => cl.send(new PutObjectCommand({ Bucket: "data", Key: "acl/y", Body: "y" }))],
      ["PutObject (folder marker)", true, (cl) => cl.send(new PutObjectCommand({ Bucket: "data", Key: "acl/new-dir/", Body: "" }))],
      ["PutBucketAcl", true, (cl) => cl.send(new PutBucketAclCommand({ Bucket: "data", ACL: "private" }))],
      ["PutObjectAcl", true, (cl) => cl.send(new PutObjectAclCommand({ Bucket: "data", Key: "acl/x", ACL: "private" }))],
      ["DeleteObjectTagging", true, (cl) => cl.send(new DeleteObjectTaggingCommand({ Bucket: "data", Key: "acl/x" }))],
      ["DeleteObject (folder marker)", true, (cl) => cl.send(new DeleteObjectCommand({ Bucket: "data", Key: "acl/marked/" }))],
      ["CopyObject", true, (cl) => cl.send(new CopyObjectCommand({ Bucket: "data", Key: "acl/z", CopySource: "data/acl/x" }))],
      ["DeleteObject", true, (cl) => cl.send(new DeleteObjectCommand({ Bucket: "data", Key: "acl/x" }))],
      ["DeleteObjects", true, (cl) => cl.send(new DeleteObjectsCommand({ Bucket: "data", Delete: { Objects: [{ Key: "acl/x" }] } }))],
      ["CreateMultipartUpload", true, (cl) => cl.send(new CreateMultipartUploadCommand({ Bucket: "data", Key: "acl/mp2" }))],
      ["UploadPart", true, (cl) => cl.send(new UploadPartCommand({ Bucket: "data", Key: "acl/mp", UploadId, PartNumber: 1, Body: "p" }))],
      ["UploadPartCopy", true, (cl) => cl.send(new UploadPartCopyCommand({ Bucket: "data", Key: "acl/mp", UploadId, PartNumber: 2, CopySource: "data/acl/x" }))],
      ["CompleteMultipartUpload", true, (cl) => cl.send(new CompleteMultipartUploadCommand({ Bucket: "data", Key: "acl/mp", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"x"' }] } }))],
      ["AbortMultipartUpload", true, (cl) => cl.send(new AbortMultipartUploadCommand({ Bucket: "data", Key: "acl/mp", UploadId }))],
    ];
    const anonymous = s3Client(gw.address, undefined);
    const wrong = s3Client(gw.address, { ...rw, secretAccessKey: "wrong-secret-123" });
    for (const [name, write, call] of ops) {
      // HEAD answers carry no body: the SDK names the error by status.
      const head = name.startsWith("Head");
      expect(await s3Failure(call(anonymous)), `${name} anonymous`).toMatchObject({ status: 403, ...(head ? {} : { code: "AccessDenied" }) });
      expect(await s3Failure(call(wrong)), `${name} wrong secret`).toMatchObject({ status: 403, ...(head ? {} : { code: "SignatureDoesNotMatch" }) });
      if (write) expect(await s3Failure(call(ro)), `${name} read-only`).toMatchObject({ code: "AccessDenied", status: 403 });
      else await call(ro);
    }
    // Nothing changed.
    expect(await c.client().exists("/data/acl/x")).toBe(true);
    expect(await c.client().exists("/acl-bucket")).toBe(false);
    expect(await c.client().exists("/data/acl/new-dir")).toBe(false);
    expect((await c.client().stat("/data/acl/marked")).attributes).toHaveProperty("etag");
    await eventually(async () => expect(await c.client().exists(`/.s3-multipart/${UploadId}`)).toBe(true));
  });
});

describe("Expect: 100-continue", () => {
  /** A PUT that sends its headers and waits for 100 Continue before its body, as curl and the SDKs do for large bodies. */
  const putExpecting = (headers: Record<string, string>) =>
    new Promise<{ status: number; continued: boolean; text: string }>((resolve, reject) => {
      const url = new URL(`${gw.address}/data/expect-continue`);
      const body = Buffer.alloc(64 * 1024, 1);
      let continued = false;
      const req = request(url, { method: "PUT", headers: { ...headers, expect: "100-continue", "content-length": String(body.length) } });
      req.on("continue", () => {
        continued = true;
        req.end(body);
      });
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode!, continued, text }));
      });
      req.on("error", reject);
      req.flushHeaders();
    });

  it("a request without valid credentials is refused before its body is asked for", async () => {
    const anonymous = await putExpecting({});
    expect(anonymous).toMatchObject({ status: 403, continued: false });
    expect(errorCode(anonymous.text)).toBe("AccessDenied");
    const forged = await putExpecting({ authorization: `AWS4-HMAC-SHA256 Credential=${rw.accessKeyId}/20260101/eu-west-3/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`, "x-amz-date": "20260101T000000Z", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" });
    expect(forged).toMatchObject({ status: 403, continued: false });
    expect(await c.client().exists("/data/expect-continue")).toBe(false);
    // A signed PUT of 5 MiB through the SDK sends Expect: 100-continue and is stored.
    const big = randomBytes(5 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "expect-continue", Body: big }));
    expect(md5(await body(await s3.send(new GetObjectCommand({ Bucket: "data", Key: "expect-continue" }))))).toBe(md5(big));
  });
});

describe("probes and metrics", () => {
  it("/healthz, /readyz and /metrics answer unsigned requests; metrics count operations, statuses and bytes", async () => {
    expect((await fetch(`${gw.address}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.address}/readyz`)).status).toBe(200);
    await s3.send(new PutObjectCommand({ Bucket: "data", Key: "metered", Body: randomBytes(1000) }));
    await s3Failure(s3.send(new GetObjectCommand({ Bucket: "data", Key: "not-metered" })));
    const text = await (await fetch(`${gw.address}/metrics`)).text();
    expect(text).toMatch(/trainfs_s3_requests_total\{operation="PutObject",status="200",role="s3-gateway"\} \d+/);
    expect(text).toMatch(/trainfs_s3_requests_total\{operation="GetObject",status="404",role="s3-gateway"\} \d+/);
    expect(text).toMatch(/trainfs_s3_received_bytes_total\{operation="PutObject",role="s3-gateway"\} \d+/);
    expect(text).toContain("trainfs_s3_request_duration_seconds_bucket");
    // Secrets never reach the metrics.
    expect(text).not.toContain(rw.secretAccessKey);
  });
});
