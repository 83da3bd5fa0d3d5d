import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ClientService } from "@trainfs/proto";
import { createLogger } from "./logger.js";
import { REQUEST_ID_HEADER } from "@trainfs/core";
import { RpcClients, withRequestId } from "@trainfs/node";
import { Metrics, TRAINFS_VERSION } from "./metrics.js";
import { TrainfsError } from "@trainfs/core";
import { callerNameKey, clientAddressKey, startRpcServer, type RpcServer } from "./rpc-server.js";

const servers: RpcServer[] = [];
const clients = new RpcClients();
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close(50);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Log lines as objects, captured in memory. */
function capture(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, stream };
}

describe("rpc server", () => {
  it("serves the console's static files with their types, and nothing outside its directory", async () => {
    const base = await mkdtemp(join(tmpdir(), "trainfs-static-"));
    dirs.push(base);
    const root = join(base, "site");
    await mkdir(join(root, "assets"), { recursive: true });
    await writeFile(join(root, "index.html"), "<!doctype html><title>x</title>");
    await writeFile(join(root, "assets", "app-1.js"), "console.log(1)");
    await writeFile(join(root, "assets", "app-1.css"), "body{}");
    await writeFile(join(root, ".secret"), "hidden");
    await writeFile(join(base, "outside.txt"), "secret");
    const logger = createLogger("test", "silent");
    const s = await startRpcServer({ host: "127.0.0.1", port: 0, logger, staticDir: root, routes: (r) => r.service(ClientService, {}) });
    servers.push(s);
    const url = `http://127.0.0.1:${s.port}`;
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(await index.text()).toContain("<title>x</title>");
    const js = await fetch(`${url}/assets/app-1.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(`${url}/assets/app-1.css`)).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await fetch(`${url}/assets/app-1.js`, { method: "HEAD" })).headers.get("content-length")).toBe("14");
    expect((await fetch(`${url}/nope.html`)).status).toBe(404);
    // fetch normalizes plain "..", so traversal is sent encoded, as an attacker's raw request would be.
    for (const p of ["/%2e%2e/outside.txt", "/..%2foutside.txt", "/assets/%2e%2e%2f%2e%2e%2foutside.txt", "/..%5coutside.txt", "/.secret", "/%00", "/assets", "/%E0%A4%A"]) {
      const res = await fetch(`${url}${p}`);
      expect([400, 404], p).toContain(res.status);
      expect(await res.text()).not.toContain("secret");
    }
    // RPC paths are still RPCs.
    const rpc = await fetch(`${url}/trainfs.v1.ClientService/Stat`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(rpc.status).toBe(501); // unimplemented here, but answered by Connect
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it("carries a request id from call to call and into every log line written while serving it", async () => {
    const logs = capture();
    const logger = createLogger("test", "info", {}, logs.stream);
    const below = await startRpcServer({
      host: "127.0.0.1", port: 0, logger,
      routes: (r) => r.service(ClientService, {
        async stat() {
          logger.info("below");
          return {};
        },
      }),
    });
    servers.push(below);
    const above = await startRpcServer({
      host: "127.0.0.1", port: 0, logger,
      routes: (r) => r.service(ClientService, {
        async stat(req) {
          logger.info("above");
          return clients.client(ClientService, `http://127.0.0.1:${below.port}`).stat(req);
        },
      }),
    });
    servers.push(above);
    const client = clients.client(ClientService, `http://127.0.0.1:${above.port}`);
    let answered: string | null = null;
    await withRequestId("put-42", () => client.stat({ path: "/x" }, { onHeader: (h) => (answered = h.get(REQUEST_ID_HEADER)) }));
    expect(answered).toBe("put-42");
    const mine = logs.lines.filter((l) => l.reqId === "put-42").map((l) => l.msg);
    expect(mine).toEqual(expect.arrayContaining(["above", "below", "rpc"]));
    expect(mine.filter((m) => m === "rpc")).toHaveLength(2);
    // A call without an id gets one of its own.
    await client.stat({ path: "/y" });
    const other = logs.lines.filter((l) => l.msg === "above" && l.reqId !== "put-42");
    expect(other).toHaveLength(1);
    expect(other[0]!.reqId).toMatch(/^[0-9a-f]{16}$/);
    clients.close();
  });

  it("logs codes as metrics spell them, counts calls in flight, names the build, and gives handlers the caller's address and name", async () => {
    const logs = capture();
    const logger = createLogger("test", "info", {}, logs.stream);
    const metrics = new Metrics("test");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    const s = await startRpcServer({
      host: "127.0.0.1", port: 0, logger, metrics,
      authorize: (_method, _headers, nameCaller) => nameCaller("alice"),
      routes: (r) => r.service(ClientService, {
        async stat(req, ctx) {
          seen.push(`${ctx.values.get(callerNameKey)}@${ctx.values.get(clientAddressKey)}`);
          if (req.path === "/held") await held;
          throw new TrainfsError("not_found", `${req.path}: no such file or directory`);
        },
      }),
    });
    servers.push(s);
    const client = clients.client(ClientService, `http://127.0.0.1:${s.port}`);
    const slow = client.stat({ path: "/held" }).catch((e: unknown) => e);
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${s.port}/metrics`).then((r) => r.text())).match(/trainfs_rpc_in_flight\{method="Stat",role="test"\} (\d+)/)?.[1]).toBe("1");
    release();
    await slow;
    await expect(client.stat({ path: "/x" })).rejects.toThrow(/no such file/);
    const text = await fetch(`http://127.0.0.1:${s.port}/metrics`).then((r) => r.text());
    expect(text).toContain('trainfs_rpc_in_flight{method="Stat",role="test"} 0');
    expect(text).toContain(`trainfs_build_info{version="${TRAINFS_VERSION}",role="test"} 1`);
    expect(text).toContain('trainfs_rpc_requests_total{method="Stat",code="not_found",role="test"} 2');
    const codes = logs.lines.filter((l) => l.msg === "rpc").map((l) => l.code);
    expect(codes).toEqual(["not_found", "not_found"]);
    expect(seen).toEqual(["alice@127.0.0.1", "alice@127.0.0.1"]);
    expect(metrics.callTotals.get("Stat")?.count).toBe(2);
    clients.close();
  });
});
