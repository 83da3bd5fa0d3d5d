import { request } from "node:https";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { buffer } from "node:stream/consumers";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DataNode, dataNodeConfigSchema } from "@trainfs/datanode";
import { DataNodeProtocolService, DataNodeService, ClientService, WriteChunkRequestSchema, type WriteChunkRequest } from "@trainfs/proto";
import { ChunkReceipts, ChunkTokens, DATA_TRANSFER_ALPN, RpcClients, createLogger, crc32Of, dataNodeCredential, toTrainfsError } from "@trainfs/common";
import { generateSecurity, generateTls } from "../src/index.js";
import { cluster, eventually, rejection, workDir } from "./helpers.js";

const code = async (p: Promise<unknown>) => ConnectError.from(await rejection(p)).code;
const drain = async (it: AsyncIterable<unknown>) => {
  for await (const _ of it) void _;
};

async function* chunkStream(chunkId: string, bytes: Uint8Array, accessToken: string): AsyncGenerator<WriteChunkRequest> {
  yield create(WriteChunkRequestSchema, { part: { case: "header", value: { chunkId, length: BigInt(bytes.length), accessToken } } });
  yield create(WriteChunkRequestSchema, { part: { case: "data", value: bytes } });
  yield create(WriteChunkRequestSchema, { part: { case: "footer", value: { checksum: crc32Of(bytes) } } });
}

describe("security", () => {
  it("admits only DataNodes with the cluster secret", async () => {
    const security = generateSecurity();
    const c = await cluster({ security });
    const rpc = new RpcClients();
    const nn = rpc.client(DataNodeProtocolService, c.nameNodeAddress);
    const registration = { datanodeId: "dn-intruder", address: "http://127.0.0.1:1" };
    expect(await code(nn.registerDataNode(registration))).toBe(Code.Unauthenticated);
    const wrong = new RpcClients({ token: dataNodeCredential("another-cluster-secret-0123456789") });
    expect(await code(wrong.client(DataNodeProtocolService, c.nameNodeAddress).registerDataNode(registration))).toBe(Code.Unauthenticated);
    expect(await code(wrong.client(DataNodeProtocolService, c.nameNodeAddress).heartBeat({ datanodeId: "dn-intruder" }))).toBe(Code.Unauthenticated);
    // A client's API token is no DataNode credential.
    const asClient = new RpcClients({ token: security.clientToken });
    expect(await code(asClient.client(DataNodeProtocolService, c.nameNodeAddress).registerDataNode(registration))).toBe(Code.PermissionDenied);

    // A real DataNode with the wrong secret never joins.
    const dataDir = await workDir();
    const config = dataNodeConfigSchema.parse({
      host: "127.0.0.1", port: 0, dataDir, namenode: c.nameNodeAddress, heartbeatIntervalMs: 100, logLevel: "silent",
      clusterSecret: "not-the-cluster-secret-at-all",
    });
    const intruder = await DataNode.start(config, createLogger("intruder", "silent"));
    try {
      await new Promise((r) => setTimeout(r, 600));
      expect(intruder.link.isRegistered).toBe(false);
      expect(c.nameNode.datanodes.liveNodes()).toHaveLength(3);
    } finally {
      await intruder.stop();
    }
    for (const r of [rpc, wrong, asClient]) r.close();
  });

  it("requires an API token from clients and refuses writes with a read-only one", async () => {
    const security = generateSecurity();
    security.apiTokens.push("ro:read-only-token-0123456789");
    const c = await cluster({ security });
    const writer = c.client();
    await writer.writeFile("/docs/a.txt", "hello");

    const anonymous = c.client({ token: undefined });
    const e = await rejection(anonymous.stat("/docs/a.txt"));
    expect(e.code).toBe("unauthenticated");
    expect(e.message).toMatch(/requires an API token/);
    expect((await rejection(c.client({ token: "no-such-token-0123456789" }).stat("/docs"))).code).toBe("unauthenticated");

    const reader = c.client({ token: "read-only-token-0123456789" });
    expect((await reader.stat("/docs/a.txt")).size).toBe(5);
    expect((await reader.list("/docs")).map((f) => f.path)).toEqual(["/docs/a.txt"]);
    expect((await reader.readFile("/docs/a.txt")).toString()).toBe("hello");
    for (const write of [
      () => reader.writeFile("/docs/b.txt", "no"),
      () => reader.mkdir("/other"),
      () => reader.rename("/docs/a.txt", "/docs/c.txt"),
      () => reader.rm("/docs/a.txt"),
      () => reader.setReplication("/docs/a.txt", 2),
      () => reader.decommission(c.dataNodeAddress(0)),
    ]) {
      const refused = await rejection(write());
      expect(refused.code).toBe("permission_denied");
      expect(refused.message).toMatch(/read-only/);
    }
    // Reads and deletes in flight together share batched calls: the same rules hold.
    const reads = await Promise.all(Array.from({ length: 4 }, () => reader.readFile("/docs/a.txt")));
    expect(reads.map(String)).toEqual(["hello", "hello", "hello", "hello"]);
    const deletes = await Promise.allSettled(Array.from({ length: 4 }, () => reader.rm("/docs/a.txt")));
    expect(deletes.map((d) => (d.status === "rejected" ? (d.reason as { code: string }).code : "deleted"))).toEqual(Array(4).fill("permission_denied"));
    expect(await anonymous.readFile("/docs/a.txt").then(() => "read", (err: { code: string }) => err.code)).toBe("unauthenticated");
    // The batched form of a write is a write too.
    const rawReader = new RpcClients({ token: "read-only-token-0123456789" });
    const rawNameNode = rawReader.client(ClientService, c.nameNodeAddress);
    const batched = await rejection(rawNameNode.putFiles({ files: [{ path: "/docs/d.txt", size: 0n }] }));
    expect(ConnectError.from(batched).code).toBe(Code.PermissionDenied);
    expect(ConnectError.from(await rejection(rawNameNode.deleteFiles({ files: [{ path: "/docs/a.txt" }] }))).code).toBe(Code.PermissionDenied);
    // Batched reads are reads: a read-only token may make them.
    expect((await rawNameNode.getFiles({ files: [{ path: "/docs/a.txt" }] })).results.map((r) => r.code)).toEqual([0]);
    rawReader.close();
    expect((await writer.list("/docs")).map((f) => f.path)).toEqual(["/docs/a.txt"]);
    expect(await writer.exists("/other")).toBe(false);
  });

  it("lets DataNodes serve and store chunks only with a valid access token", async () => {
    const security = generateSecurity();
    const c = await cluster({ security });
    const rpc = new RpcClients({ token: security.clientToken });
    const nn = rpc.client(ClientService, c.nameNodeAddress);
    const dn = rpc.client(DataNodeService, c.dataNodeAddress(0));
    const bytes = new Uint8Array(3000).fill(7);

    const started = await nn.putFile({ path: "/f", size: BigInt(bytes.length), replication: 1, chunkSize: 4096n });
    const plan = started.chunks[0]!;
    const planned = rpc.client(DataNodeService, plan.chain[0]!.address);
    const forger = new ChunkTokens("a-secret-the-cluster-does-not-have", 60_000);
    const expired = new ChunkTokens(security.clusterSecret, 60_000, () => Date.now() - 120_000);
    const sameCluster = new ChunkTokens(security.clusterSecret, 60_000);
    const scope = { attempt: started.uploadId, datanodeIds: plan.chain.map((n) => n.datanodeId) };
    for (const token of [
      "",
      "w.99999999999999.garbage",
      forger.issue(plan.chunkId, "write", scope),
      expired.issue(plan.chunkId, "write", scope),
      sameCluster.issue(plan.chunkId, "read"),
      sameCluster.issue("ab".repeat(16), "write", scope),
    ]) {
      expect(await code(planned.writeChunk(chunkStream(plan.chunkId, bytes, token)))).toBe(Code.PermissionDenied);
    }
    // The browsers' unary parts are held to the same rule, on every part.
    const part = (accessToken: string) =>
      planned.writeChunkPart({
        chunkId: plan.chunkId, uploadSession: "session-0001", length: BigInt(bytes.length), offset: 0n, data: bytes, last: true,
        checksum: crc32Of(bytes), accessToken,
      });
    expect(await code(part(""))).toBe(Code.PermissionDenied);
    expect(await code(part(forger.issue(plan.chunkId, "write", scope)))).toBe(Code.PermissionDenied);
    expect(await code(part(expired.issue(plan.chunkId, "write", scope)))).toBe(Code.PermissionDenied);
    expect(await c.chunkFiles(c.dataNodeAddresses().indexOf(plan.chain[0]!.address))).toEqual([]);

    // The token the NameNode gave works.
    const stored = await planned.writeChunk(chunkStream(plan.chunkId, bytes, plan.accessToken));
    const digest = { chunkId: plan.chunkId, length: BigInt(bytes.length), checksum: crc32Of(bytes) };
    const datanodeId = plan.chain[0]!.datanodeId;
    expect(stored.receipts.map((r) => r.datanodeId)).toEqual([datanodeId]);
    // A client cannot vouch for a replica itself: a receipt signed with another
    // secret, or a genuine one offered for other bytes, is refused.
    const confirm = (chunks: (typeof digest)[], receipts: typeof stored.receipts) => nn.confirmFile({ path: "/f", uploadId: started.uploadId, chunks, receipts });
    const forged = new ChunkReceipts("a-secret-the-cluster-does-not-have").sign({ ...digest, length: bytes.length, datanodeId });
    expect(await code(confirm([digest], [{ ...stored.receipts[0]!, signature: forged }]))).toBe(Code.PermissionDenied);
    expect(await code(confirm([{ ...digest, checksum: (digest.checksum ^ 1) >>> 0 }], stored.receipts))).toBe(Code.PermissionDenied);
    expect(await code(confirm([digest], [{ ...stored.receipts[0]!, datanodeId: "dn-someone-else" }]))).toBe(Code.PermissionDenied);
    await confirm([digest], stored.receipts);

    const located = (await nn.getFile({ path: "/f" })).chunks[0]!;
    expect(located.accessToken).not.toBe("");
    const replica = rpc.client(DataNodeService, located.replicas[0]!.address);
    for (const token of ["", forger.issue(located.chunkId, "read"), expired.issue(located.chunkId, "read"), sameCluster.issue(located.chunkId, "write", scope)]) {
      expect(await code(drain(replica.readChunk({ chunkId: located.chunkId, accessToken: token })))).toBe(Code.PermissionDenied);
    }
    let read = 0;
    for await (const part of replica.readChunk({ chunkId: located.chunkId, accessToken: located.accessToken })) read += part.data.length;
    expect(read).toBe(bytes.length);
    // Refused before the DataNode even looks for the chunk: no probing for which node holds what.
    expect(await code(drain(dn.readChunk({ chunkId: "cd".repeat(16) })))).toBe(Code.PermissionDenied);
    rpc.close();
  });

  it("copies replicas with the NameNode's tokens, and readers renew expired ones", async () => {
    const security = generateSecurity();
    const c = await cluster({ security, dataNodes: 4, nameNode: { chunkTokenTtlMs: 400 } });
    const client = c.client({ chunkSize: 1024 });
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    await client.writeFile("/r", data, { replication: 2 });
    // Raising the replication makes the NameNode send replication tasks: the copies need tokens.
    await client.setReplication("/r", 4);
    await eventually(async () => {
      const status = await client.clusterStatus();
      expect(status.underReplicatedChunks).toBe(0);
      const fsck = await client.fsck("/r");
      expect(fsck.files[0]!.chunks.every((ch) => ch.liveReplicas.length === 4)).toBe(true);
    }, 20_000);

    // A slow reader outlives the tokens GetFile gave it; the reader asks again.
    const stream = client.createReadStream("/r");
    const first = await new Promise<Buffer>((resolve) => stream.once("data", (d: Buffer) => resolve(d)));
    stream.pause();
    await new Promise((r) => setTimeout(r, 800));
    stream.resume();
    const rest = await buffer(stream);
    expect(Buffer.concat([first, rest]).equals(data)).toBe(true);
  });

  it("serves every listener over TLS when given a certificate", async () => {
    const { certFile: cert, keyFile: key, ca } = await generateTls(await workDir());
    const pems = { cert: ca };
    const security = generateSecurity();
    const c = await cluster({
      security,
      nameNode: { tlsCert: cert, tlsKey: key },
      dataNode: { tlsCert: cert, tlsKey: key, tlsCaFile: cert },
    });
    expect(c.nameNodeAddress).toMatch(/^https:/);
    expect(c.dataNodeAddresses().every((a) => a.startsWith("https:"))).toBe(true);
    const client = c.client({ ca: pems.cert, chunkSize: 1024 });
    const data = Buffer.alloc(4000, 9);
    await client.writeFile("/secret", data);
    expect((await client.readFile("/secret")).equals(data)).toBe(true);
    // Chunk bytes travel over data transfer inside TLS (chosen by ALPN); only DataNodes offer it.
    const alpn = (address: string) =>
      new Promise<string | false>((resolve) => {
        const url = new URL(address);
        const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca: pems.cert, ALPNProtocols: [DATA_TRANSFER_ALPN] });
        socket.once("secureConnect", () => (resolve(socket.alpnProtocol ?? false), socket.destroy()));
        socket.once("error", () => resolve(false));
      });
    expect(await alpn(c.dataNodeAddress(0))).toBe(DATA_TRANSFER_ALPN);
    expect(await alpn(c.nameNodeAddress)).toBe(false);
    // HTTP/1.1 over TLS still reaches the HTTP handlers (probes, browsers).
    const health = await fetchOverTls(`${c.dataNodeAddress(0)}/healthz`, pems.cert);
    expect(health).toEqual({ status: 200, body: "ok\n" });
    // A DataNode's certificate the client cannot verify is named as such on the data path too.
    const trusted = new RpcClients({ ca: Buffer.from(pems.cert), token: security.clientToken });
    const untrustedDn = new RpcClients();
    const chunk = (await trusted.client(ClientService, c.nameNodeAddress).getFile({ path: "/secret" })).chunks[0]!;
    trusted.close();
    const noCa = untrustedDn.dataNode(chunk.replicas[0]!.address).readChunk({ chunkId: chunk.chunkId, accessToken: chunk.accessToken });
    const refused = toTrainfsError(await rejection((async () => {
      for await (const _ of noCa);
    })()));
    expect(refused.code).toBe("unavailable");
    expect(refused.message).toMatch(/TLS certificate .*--ca-file/);
    untrustedDn.close();
    // Without the CA the certificate is not trusted; cleartext gets nowhere.
    const untrusted = await rejection(c.client({ ca: undefined }).stat("/secret"));
    expect(untrusted.code).toBe("unavailable");
    expect(untrusted.message).toMatch(/TLS certificate .*--ca-file/);
    const cleartext = await rejection(c.client({ namenode: c.nameNodeAddress.replace("https:", "http:") }).stat("/secret"));
    // The TLS listener drops a cleartext HTTP/2 connection at once (the client sees its stream cancelled).
    expect(["canceled", "unavailable"]).toContain(cleartext.code);
  });
});

function fetchOverTls(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}
