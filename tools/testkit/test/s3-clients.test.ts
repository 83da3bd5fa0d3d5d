import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { readFile } from "node:fs/promises";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import * as Minio from "minio";
import { describe, expect, it } from "vitest";
import { generateSecurity, startS3Gateway } from "../src/index.js";
import { cluster, eventually } from "./helpers.js";
import { s3Client, s3Failure } from "./s3-helpers.js";

const MiB = 1024 * 1024;

describe("S3 gateway with other clients and failures", () => {
  it("minio-js as a second signer: put, get, list, remove and a presigned GET", async () => {
    const c = await cluster({ security: generateSecurity() });
    const gw = await startS3Gateway(c);
    try {
      const url = new URL(gw.address);
      const minio = new Minio.Client({
        endPoint: url.hostname, port: Number(url.port), useSSL: false, region: "us-east-1",
        accessKey: gw.credentials[0]!.accessKeyId, secretKey: gw.credentials[0]!.secretAccessKey, pathStyle: true,
      });
      await minio.makeBucket("mini");
      const data = randomBytes(3 * MiB + 11);
      const put = await minio.putObject("mini", "dir/one.bin", data, data.length, { "Content-Type": "application/x-one" });
      expect(put.etag).toBe(createHash("md5").update(data).digest("hex"));
      await minio.putObject("mini", "two.txt", Buffer.from("two"));
      expect((await buffer(await minio.getObject("mini", "dir/one.bin"))).equals(data)).toBe(true);
      const names: string[] = [];
      for await (const item of minio.listObjectsV2("mini", "", true)) names.push((item as { name: string }).name);
      expect(names).toEqual(["dir/one.bin", "two.txt"]);
      const presigned = await minio.presignedGetObject("mini", "two.txt", 60);
      const res = await fetch(presigned);
      expect([res.status, await res.text()]).toEqual([200, "two"]);
      // The same URL with its signature altered is refused.
      expect((await fetch(presigned.replace(/X-Amz-Signature=[0-9a-f]/, "X-Amz-Signature=z"))).status).toBe(403);
      await minio.removeObject("mini", "dir/one.bin");
      await expect(minio.statObject("mini", "dir/one.bin")).rejects.toMatchObject({ code: "NotFound" });
      expect(await c.client().exists("/mini/dir")).toBe(false);
    } finally {
      await gw.stop();
    }
  });

  it("a client that disconnects mid-PUT leaves no object and no chunks (abandoned, trashed)", async () => {
    const c = await cluster({ nameNode: { defaultChunkSize: 1 * MiB, minChunkSize: 1024 } });
    const gw = await startS3Gateway(c);
    try {
      const s3 = s3Client(gw.address, gw.credentials[0]);
      await s3.send(new CreateBucketCommand({ Bucket: "cut" }));
      const chunksBefore = c.nameNode.store.chunkCount();
      // Signed as UNSIGNED-PAYLOAD through a presigned PUT, then cut after 3 MiB of 10.
      const url = new URL(gw.address);
      const minio = new Minio.Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, region: "us-east-1", accessKey: gw.credentials[0]!.accessKeyId, secretKey: gw.credentials[0]!.secretAccessKey, pathStyle: true });
      const target = new URL(await minio.presignedPutObject("cut", "partial.bin", 60));
      await new Promise<void>((resolve) => {
        const req = request({ host: target.hostname, port: target.port, method: "PUT", path: `${target.pathname}${target.search}`, headers: { "content-length": String(10 * MiB) } });
        req.on("error", () => resolve());
        req.write(randomBytes(3 * MiB), () => setTimeout(() => {
          req.destroy();
          resolve();
        }, 300));
      });
      await eventually(() => expect(c.nameNode.store.uploads.getKeysCount()).toBe(0), 20_000);
      expect(await c.client().exists("/cut/partial.bin")).toBe(false);
      // The chunks the cut PUT had stored are forgotten (and sent to trash).
      expect(c.nameNode.store.chunkCount()).toBe(chunksBefore);
      s3.destroy();
    } finally {
      await gw.stop();
    }
  });

  it("a client that stops sending mid-PUT gets RequestTimeout; no object, no upload left", async () => {
    const c = await cluster({ nameNode: { defaultChunkSize: 1 * MiB, minChunkSize: 1024 } });
    const gw = await startS3Gateway(c, { config: { bodyIdleTimeoutMs: 1000 } });
    try {
      const s3 = s3Client(gw.address, gw.credentials[0]);
      await s3.send(new CreateBucketCommand({ Bucket: "stall" }));
      const url = new URL(gw.address);
      const minio = new Minio.Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, region: "us-east-1", accessKey: gw.credentials[0]!.accessKeyId, secretKey: gw.credentials[0]!.secretAccessKey, pathStyle: true });
      const target = new URL(await minio.presignedPutObject("stall", "stalled.bin", 60));
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: target.hostname, port: target.port, method: "PUT", path: `${target.pathname}${target.search}`, headers: { "content-length": String(3 * MiB) } }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        });
        req.on("error", reject);
        // 1.5 MiB, then nothing (the connection stays open).
        req.write(randomBytes(1.5 * MiB));
      });
      expect([answer.status, /<Code>([^<]*)<\/Code>/.exec(answer.body)?.[1]]).toEqual([400, "RequestTimeout"]);
      expect(await c.client().exists("/stall/stalled.bin")).toBe(false);
      await eventually(() => expect(c.nameNode.store.uploads.getKeysCount()).toBe(0), 20_000);
      s3.destroy();
    } finally {
      await gw.stop();
    }
  });

  it("a DataNode stopped mid-PUT: the chunks planned on it go through chain recovery and the object reads back whole", async () => {
    // Six DataNodes: a chunk whose first attempt two nodes finalized before the third failed is
    // re-sent on a chain without them (they refuse a re-write), which needs three more.
    const c = await cluster({ dataNodes: 6, nameNode: { defaultChunkSize: 1 * MiB, minChunkSize: 1024 } });
    const gw = await startS3Gateway(c);
    try {
      const s3 = s3Client(gw.address, gw.credentials[0]);
      await s3.send(new CreateBucketCommand({ Bucket: "chain" }));
      const data = randomBytes(24 * MiB);
      // Sent a quarter MiB at a time; once 6 MiB (6 chunks) are out, DataNode 1
      // stops before any more is sent. PutFile planned every chunk at once, so
      // about half of those still to come name it in their chains.
      const body = Readable.from((async function* () {
        for (let at = 0; at < data.length; at += MiB / 4) {
          if (at === 6 * MiB) await c.stopDataNode(0);
          yield data.subarray(at, at + MiB / 4);
        }
      })());
      const put = await s3.send(new PutObjectCommand({ Bucket: "chain", Key: "survivor", Body: body, ContentLength: data.length }));
      expect(put.ETag).toBe(`"${createHash("md5").update(data).digest("hex")}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: "chain", Key: "survivor" }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
      // The chunks planned on the stopped node were given new chains (PutFile planned them all at once).
      const metrics = await (await fetch(`${c.nameNodeAddress}/metrics`)).text();
      const replaced = [...metrics.matchAll(/^trainfs_rpc_requests_total\{[^}]*method="ReplaceChain"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
      expect(replaced).toBeGreaterThan(0);
      s3.destroy();
    } finally {
      await gw.stop();
    }
  }, 120_000);

  it("too few live DataNodes is ServiceUnavailable (503, retry later), a file in the key's path InvalidArgument (400)", async () => {
    const c = await cluster({ dataNodes: 3 });
    const gw = await startS3Gateway(c);
    try {
      const s3 = s3Client(gw.address, gw.credentials[0], { maxAttempts: 1 });
      await s3.send(new CreateBucketCommand({ Bucket: "few" }));
      await s3.send(new PutObjectCommand({ Bucket: "few", Key: "a", Body: "a" }));
      const inTheWay = await s3Failure(s3.send(new PutObjectCommand({ Bucket: "few", Key: "a/b", Body: "b" })));
      expect(inTheWay).toMatchObject({ code: "InvalidArgument", status: 400, message: expect.stringContaining("cannot be both an object and a prefix") });
      await c.stopDataNode(1);
      await c.stopDataNode(2);
      await c.waitForLiveDataNodes(1);
      const few = await s3Failure(s3.send(new PutObjectCommand({ Bucket: "few", Key: "b", Body: "b" })));
      expect(few).toMatchObject({ code: "ServiceUnavailable", status: 503, message: expect.stringContaining("minWriteReplicas") });
      expect(few.message).not.toContain("prefix");
      s3.destroy();
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it("a 1 GiB streamed PUT and GET keep the gateway's RSS bounded", async () => {
    // 1 GiB rather than the 5 GiB: the suite runs on two shared cores.
    const GiB = 1024 * MiB;
    // The expected MD5 first: hashing 1 GiB blocks this process (and the
    // in-process cluster's heartbeats) for seconds on a busy machine.
    const block = randomBytes(MiB);
    const sent = createHash("md5");
    for (let i = 0; i < 1024; i++) sent.update(block);
    const c = await cluster({ nameNode: { defaultChunkSize: 64 * MiB } });
    const gw = await startS3Gateway(c, { mode: "process", config: { replication: 1 } });
    try {
      const s3 = s3Client(gw.address, gw.credentials[0]);
      await s3.send(new CreateBucketCommand({ Bucket: "big" }));
      const source = () => Readable.from((function* () {
        for (let i = 0; i < 1024; i++) yield block;
      })());
      // The PUT plans its chunks at once (its length is known): the DataNodes must be live then.
      await c.waitForLiveDataNodes(3);
      const put = await s3.send(new PutObjectCommand({ Bucket: "big", Key: "one-gib", Body: source(), ContentLength: GiB }));
      expect(put.ETag).toBe(`"${sent.digest("hex")}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: "big", Key: "one-gib" }));
      const received = createHash("md5");
      let length = 0;
      for await (const piece of got.Body as AsyncIterable<Buffer>) {
        received.update(piece);
        length += piece.length;
      }
      expect(length).toBe(GiB);
      expect(`"${received.digest("hex")}"`).toBe(put.ETag);
      // Peak resident memory of the gateway's process over both transfers.
      const status = await readFile(`/proc/${gw.process!.pid}/status`, "utf8");
      const peakKiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]);
      expect(peakKiB * 1024).toBeLessThan(300 * MiB);
      s3.destroy();
    } finally {
      await gw.stop();
    }
  }, 600_000);
});
