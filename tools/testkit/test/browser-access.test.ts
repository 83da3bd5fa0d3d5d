import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TrainfsWebClient } from "@trainfs/client/web";
import { generateSecurity } from "../src/index.js";
import { cluster, rejection } from "./helpers.js";

/** A fetch that records each call's method name and holds back the first call of `method` by `ms`. */
function delayingFirst(method: string, ms: number): { calls: string[]; slowFetch: typeof fetch } {
  const calls: string[] = [];
  let delayed = false;
  const slowFetch: typeof fetch = async (input, init) => {
    const url = String(input);
    calls.push(url.slice(url.lastIndexOf("/") + 1));
    if (url.endsWith(`/${method}`) && !delayed) {
      delayed = true;
      await new Promise((r) => setTimeout(r, ms));
    }
    return fetch(input, init);
  };
  return { calls, slowFetch };
}

const MiB = 1024 * 1024;

/** What a browser needs: CORS on every node, and the browser SDK (run here on Node's fetch, which is what connect-web uses). */
describe("browser access", () => {
  it("lets the NameNode's origin call its DataNodes, refuses other origins, and answers preflights with the token header", async () => {
    const c = await cluster({ dataNodes: 1, nameNode: { defaultReplication: 1, corsOrigins: ["https://ops.example.com"] } });
    const nnOrigin = new URL(c.nameNodeAddress).origin;
    const dn = c.dataNodeAddress(0);
    const preflight = (url: string, origin: string) =>
      fetch(url, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization,x-request-id" },
      });
    const ok = await preflight(`${dn}/trainfs.v1.DataNodeService/WriteChunkPart`, nnOrigin);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(nnOrigin);
    const allowed = ok.headers.get("access-control-allow-headers")!.toLowerCase();
    for (const h of ["authorization", "content-type", "connect-protocol-version", "x-request-id", "x-grpc-web"]) expect(allowed).toContain(h);
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    expect(ok.headers.get("access-control-expose-headers")!.toLowerCase()).toContain("trainfs-failed-datanode");

    // A foreign page is refused before any handler runs, preflight or not.
    expect((await preflight(`${dn}/trainfs.v1.DataNodeService/WriteChunkPart`, "https://evil.example")).status).toBe(403);
    const post = await fetch(`${c.nameNodeAddress}/trainfs.v1.ClientService/Mkdir`, {
      method: "POST", headers: { origin: "https://evil.example", "content-type": "application/json" }, body: JSON.stringify({ path: "/evil" }),
    });
    expect(post.status).toBe(403);
    expect(post.headers.get("access-control-allow-origin")).toBeNull();
    // The NameNode allows the origin it was configured with, and its own (same origin).
    expect((await preflight(`${c.nameNodeAddress}/trainfs.v1.ClientService/List`, "https://ops.example.com")).status).toBe(204);
    const same = await fetch(`${c.nameNodeAddress}/trainfs.v1.ClientService/Mkdir`, {
      method: "POST", headers: { origin: nnOrigin, "content-type": "application/json" }, body: JSON.stringify({ path: "/mine" }),
    });
    expect(same.status).toBe(200);
    expect(await c.client().exists("/evil")).toBe(false);
    expect(await c.client().exists("/mine")).toBe(true);
  });

  it("browser SDK: uploads a multi-chunk file in parts and downloads it verified, with progress and the bearer token", async () => {
    // Security on: the NameNode wants the API token, the DataNodes chunk access tokens in every part and read.
    const security = generateSecurity();
    const c = await cluster({ security, nameNode: { defaultChunkSize: 2 * MiB } });
    const seen: Array<{ url: string; auth: string | null; reqId: string | null }> = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      seen.push({ url: String(input), auth: headers.get("authorization"), reqId: headers.get("x-request-id") });
      return fetch(input, init);
    };
    const web = new TrainfsWebClient({ namenode: c.nameNodeAddress, token: security.clientToken, partSize: 512 * 1024, fetch: recordingFetch });
    const bytes = new Uint8Array(randomBytes(5 * MiB + 4321));
    const progress: number[] = [];
    const stat = await web.put(new Blob([bytes]), "/web/file.bin", { onProgress: (done) => progress.push(done) });
    expect(stat.size).toBe(bytes.length);
    expect(stat.chunkCount).toBe(3);
    expect(progress.at(-1)).toBe(bytes.length);
    expect(progress.length).toBeGreaterThanOrEqual(11);
    expect(Buffer.compare(await c.client().readFile("/web/file.bin"), Buffer.from(bytes))).toBe(0);

    // One put, one request id on every call; the token goes to the NameNode only.
    const putCalls = seen.splice(0);
    expect(new Set(putCalls.map((s) => s.reqId)).size).toBe(1);
    expect(putCalls.filter((s) => s.url.includes("WriteChunkPart")).length).toBe(4 + 4 + 3); // 512 KiB parts of 2, 2 and 1 MiB chunks
    for (const s of putCalls) expect(s.auth).toBe(s.url.startsWith(c.nameNodeAddress) ? `Bearer ${security.clientToken}` : null);

    const got: number[] = [];
    const back = await web.readFile("/web/file.bin", { onProgress: (done) => got.push(done) });
    expect(Buffer.compare(Buffer.from(back), Buffer.from(bytes))).toBe(0);
    expect(got.at(-1)).toBe(bytes.length);

    expect((await web.list("/web")).map((f) => f.path)).toEqual(["/web/file.bin"]);
    await web.mkdir("/web/dir");
    await web.rename("/web/dir", "/web/dir2");
    await web.rm("/web/dir2");
    expect((await web.list("/web")).map((f) => f.path)).toEqual(["/web/file.bin"]);
    const status = await web.clusterStatus();
    expect(status.datanodes.filter((n) => n.state === "alive")).toHaveLength(3);
    expect(status.corruptReplicas).toBe(0);
    expect((await rejection(web.stat("/nope"))).code).toBe("not_found");
    expect((await rejection(web.put(new Uint8Array(1), "/web/file.bin"))).code).toBe("already_exists");
  });

  it("browser SDK: a download that outlives its chunk tokens asks the NameNode for fresh ones", async () => {
    const security = generateSecurity();
    const c = await cluster({ security, nameNode: { chunkTokenTtlMs: 300 } });
    const bytes = randomBytes(100_000);
    await c.client({ chunkSize: 64 * 1024 }).writeFile("/slow.bin", bytes);
    // The first chunk read starts after the tokens GetFile gave have expired.
    const { calls, slowFetch } = delayingFirst("ReadChunk", 600);
    const web = new TrainfsWebClient({ namenode: c.nameNodeAddress, token: security.clientToken, fetch: slowFetch });
    // No onProgress: the byte count must not depend on one being given.
    const back = await web.readFile("/slow.bin");
    expect(Buffer.compare(Buffer.from(back), bytes)).toBe(0);
    expect(calls.filter((m) => m === "GetFile").length).toBeGreaterThanOrEqual(2);
  });

  it("browser SDK: an upload that outlives its chunk token gets a new chain with a new token", async () => {
    const security = generateSecurity();
    const c = await cluster({ security, nameNode: { chunkTokenTtlMs: 300 } });
    const { calls, slowFetch } = delayingFirst("WriteChunkPart", 600);
    const web = new TrainfsWebClient({ namenode: c.nameNodeAddress, token: security.clientToken, fetch: slowFetch });
    const bytes = new Uint8Array(randomBytes(50_000));
    await web.put(bytes, "/late.bin");
    expect(Buffer.compare(await c.client().readFile("/late.bin"), Buffer.from(bytes))).toBe(0);
    expect(calls).toContain("ReplaceChain");
    expect(c.nameNode.datanodes.liveNodes()).toHaveLength(3);
  });
});
