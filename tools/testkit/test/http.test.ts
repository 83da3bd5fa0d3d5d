import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { ClientService } from "@trainfs/proto";
import { cluster } from "./helpers.js";

/** One port serves HTTP/2 (TrainFS's own clients) and HTTP/1.1 (browsers, curl, probes). */
describe("HTTP on the servers' ports", () => {
  it("answers /healthz and /readyz over HTTP/1.1 on the NameNode and every DataNode", async () => {
    const c = await cluster({ nameNode: { safeModeTimeoutMs: 600_000 } });
    for (const address of [c.nameNodeAddress, c.dataNodeAddress(0), c.dataNodeAddress(1)]) {
      const health = await fetch(`${address}/healthz`);
      expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
      expect((await fetch(`${address}/readyz`)).status).toBe(200);
    }
    // A NameNode in safe mode is up but not ready; a stopped DataNode's port is gone.
    await c.client().writeFile("/f", "x");
    for (const i of [0, 1, 2]) await c.stopDataNode(i);
    await c.restartNameNode();
    expect((await fetch(`${c.nameNodeAddress}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${c.nameNodeAddress}/readyz`);
    expect([notReady.status, await notReady.text()]).toEqual([503, "not ready\n"]);
    await c.startDataNode(0);
    await expect.poll(async () => (await fetch(`${c.nameNodeAddress}/readyz`)).status, { timeout: 10_000 }).toBe(200);
  });

  it("serves Connect and gRPC-web over HTTP/1.1 too", async () => {
    const c = await cluster();
    await c.client().mkdir("/over-http1");
    for (const transport of [
      createConnectTransport({ baseUrl: c.nameNodeAddress, httpVersion: "1.1" }),
      createGrpcWebTransport({ baseUrl: c.nameNodeAddress, httpVersion: "1.1" }),
    ]) {
      const nn = createClient(ClientService, transport);
      expect((await nn.list({ path: "/" })).entries.map((e) => e.path)).toEqual(["/over-http1"]);
    }
  });
});
