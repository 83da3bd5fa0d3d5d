import * as http2 from "node:http2";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { DataNodeProtocolService, type HeartBeatRequest } from "@trainfs/proto";
import { crc32Of, createLogger } from "@trainfs/common";
import { afterEach, describe, expect, it } from "vitest";
import { dataNodeConfigSchema } from "./config.js";
import { DataNode } from "./datanode.js";
import type { NameNodeRole } from "./namenode-link.js";

/**
 * A real DataNode against two fake NameNodes (Connect servers of the
 * DataNode protocol that record what they receive and hand out the work a
 * test gives them), as in an HA cluster: one active, one standby.
 */
interface FakeNameNode {
  address: string;
  registrations: number;
  reports: number;
  heartbeats: HeartBeatRequest[];
  /** Chunk ids committed or reported to it. */
  commits: string[];
  /** The code its commits answer with (0: recorded). */
  commitCode: number;
  /** Trash handed out with the next heartbeat answer. */
  trash: string[];
  /** The role its heartbeat answers name ("" as a NameNode without HA fields). */
  role: string;
  close(): Promise<void>;
}

async function fakeNameNode(clusterId: string, registerDelayMs = 0): Promise<FakeNameNode> {
  const nn: FakeNameNode = { address: "", registrations: 0, reports: 0, heartbeats: [], commits: [], commitCode: 0, trash: [], role: "", close: async () => {} };
  const routes = (router: ConnectRouter) =>
    router.service(DataNodeProtocolService, {
      async registerDataNode() {
        await new Promise((r) => setTimeout(r, registerDelayMs));
        nn.registrations++;
        return { clusterId, heartbeatTimeoutMs: 10_000 };
      },
      chunkReport() {
        nn.reports++;
        return {};
      },
      heartBeat(req) {
        nn.heartbeats.push(req);
        return { trashChunkNames: nn.trash.splice(0), haRole: nn.role };
      },
      commitChunk(req) {
        nn.commits.push(...req.chunks.map((c) => c.chunkId));
        return { results: req.chunks.map(() => ({ code: nn.commitCode, message: nn.commitCode ? "no file owns this chunk" : "" })) };
      },
      reportCorruptChunks() {
        return {};
      },
    });
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  nn.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  nn.close = () =>
    new Promise<void>((r) => {
      if (!server.listening) return r();
      server.close(() => r());
      // Open sessions too, so that the DataNode sees a NameNode that is gone.
      for (const session of sessions) session.destroy();
    });
  return nn;
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startDataNode(namenodes: FakeNameNode[], roles: Map<string, NameNodeRole> | undefined, lines: Array<Record<string, unknown>>) {
  const dataDir = await mkdtemp(join(tmpdir(), "trainfs-dn-links-"));
  const config = dataNodeConfigSchema.parse({ host: "127.0.0.1", port: 0, dataDir, namenode: namenodes.map((n) => n.address).join(","), heartbeatIntervalMs: 50, logLevel: "debug" });
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const node = await DataNode.start(config, createLogger("datanode", "debug", {}, sink), roles ? { roleProbe: async (address) => roles.get(address) ?? "unknown" } : {});
  cleanup.push(async () => {
    await node.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  return node;
}

const CHUNK_A = "a".repeat(32);
const CHUNK_B = "b".repeat(32);

describe("a DataNode with two NameNodes", () => {
  it("registers, reports and heartbeats to both; takes work only from the active one", async () => {
    const active = await fakeNameNode("cluster-1");
    const standby = await fakeNameNode("cluster-1");
    cleanup.push(active.close, standby.close);
    const roles = new Map<string, NameNodeRole>([[active.address, "active"], [standby.address, "standby"]]);
    const lines: Array<Record<string, unknown>> = [];
    const node = await startDataNode([active, standby], roles, lines);
    await until("both registered and heartbeating", () => active.heartbeats.length >= 2 && standby.heartbeats.length >= 2);
    expect(active.registrations).toBe(1);
    expect(standby.registrations).toBe(1);
    expect(active.reports).toBe(1);
    expect(standby.reports).toBe(1);
    expect(standby.heartbeats[0]!.datanodeId).toBe(node.id);
    expect(node.link.isRegistered).toBe(true);

    // The standby should hand out nothing; if it does, it is not done.
    standby.trash.push(CHUNK_B);
    active.trash.push(CHUNK_A);
    await until("the active's trash confirmed", () => active.heartbeats.some((h) => h.deletedChunkIds.includes(CHUNK_A)));
    const seen = standby.heartbeats.length;
    await until("more standby heartbeats", () => standby.heartbeats.length >= seen + 3);
    expect(active.heartbeats.some((h) => h.deletedChunkIds.includes(CHUNK_B))).toBe(false);
    // Confirmations go to the NameNode that handed out the work, not to the standby.
    expect(standby.heartbeats.every((h) => h.deletedChunkIds.length === 0)).toBe(true);
    expect(lines.some((l) => l.msg === "work from a NameNode not known active was ignored" && l.namenode === standby.address)).toBe(true);

    // After a failover the new active's work is taken, the old one's is not.
    roles.set(active.address, "standby");
    roles.set(standby.address, "active");
    await until("role change seen", () => lines.filter((l) => l.msg === "NameNode role").length >= 4);
    standby.trash.push(CHUNK_B);
    await until("the new active's trash confirmed", () => standby.heartbeats.some((h) => h.deletedChunkIds.includes(CHUNK_B)));
  });

  it("commits a replica to both and answers with the active one's outcome", async () => {
    const active = await fakeNameNode("cluster-1");
    const standby = await fakeNameNode("cluster-1");
    cleanup.push(active.close, standby.close);
    const roles = new Map<string, NameNodeRole>([[active.address, "active"], [standby.address, "standby"]]);
    const node = await startDataNode([active, standby], roles, []);
    await until("roles known", () => active.heartbeats.length >= 2 && standby.heartbeats.length >= 2);
    // A replica really held: a background report of one that is gone is not sent.
    const writer = await node.store.createWriter("c".repeat(32), 5);
    await writer.write(Buffer.from("hello"));
    const chunk = await writer.commit(crc32Of(Buffer.from("hello")));
    standby.commitCode = 5; // NotFound: a standby behind the log
    await node.link.commitChunk(chunk);
    await until("the standby told too", () => standby.commits.includes(chunk.chunkId));
    expect(active.commits).toEqual([chunk.chunkId]);
    // The standby's NotFound does not make the node drop its copy.
    await new Promise((r) => setTimeout(r, 200));
    expect(node.store.has(chunk.chunkId)).toBe(true);
    active.commitCode = 5;
    standby.commitCode = 0;
    await expect(node.link.commitChunk({ ...chunk, chunkId: "d".repeat(32) })).rejects.toMatchObject({ code: 5 });
  });

  it("keeps working with the other NameNode while one is down, and says so once per outage", async () => {
    const one = await fakeNameNode("cluster-1");
    const two = await fakeNameNode("cluster-1");
    cleanup.push(one.close);
    const lines: Array<Record<string, unknown>> = [];
    const node = await startDataNode([one, two], new Map(), lines);
    await until("both heartbeating", () => one.heartbeats.length >= 1 && two.heartbeats.length >= 1);
    await two.close();
    const before = one.heartbeats.length;
    // Backoff doubles from 50 ms: several failed rounds within ~2 s.
    await new Promise((r) => setTimeout(r, 2000));
    expect(one.heartbeats.length).toBeGreaterThan(before + 10);
    const down = lines.filter((l) => l.msg === "cannot reach this NameNode; reporting to the others meanwhile");
    expect(down).toHaveLength(1);
    expect(down[0]!.namenode).toBe(two.address);
    expect(node.link.isRegistered).toBe(true);
    // With roles unknown (NameNodes without GetHaStatus), work from a reachable one is taken.
    one.trash.push(CHUNK_A);
    await until("trash confirmed", () => one.heartbeats.some((h) => h.deletedChunkIds.includes(CHUNK_A)));
  });
});

describe("a DataNode given NameNodes of two clusters", () => {
  it("stays in the cluster it joined first and says why the other is refused", async () => {
    const first = await fakeNameNode("cluster-1");
    const other = await fakeNameNode("cluster-2", 300);
    cleanup.push(first.close, other.close);
    const lines: Array<Record<string, unknown>> = [];
    const node = await startDataNode([first, other], new Map(), lines);
    await until("the refusal", () => lines.some((l) => typeof l.err === "string" && l.err.includes("runs cluster cluster-2")));
    const refusal = lines.find((l) => typeof l.err === "string" && l.err.includes("runs cluster cluster-2"))!;
    expect(refusal.err).toBe(`NameNode ${other.address} runs cluster cluster-2, but this DataNode belongs to cluster cluster-1: every NameNode in --namenode must be of one cluster`);
    expect(readFileSync(join(node.store.dir, "cluster-id"), "utf8").trim()).toBe("cluster-1");
    expect(other.heartbeats).toHaveLength(0);
    expect(first.heartbeats.length).toBeGreaterThan(0);
  });
});

describe("roles named in heartbeat answers", () => {
  it("takes work only from the NameNode whose answers say active, and follows a swap", async () => {
    const first = await fakeNameNode("cluster-1");
    const second = await fakeNameNode("cluster-1");
    cleanup.push(first.close, second.close);
    first.role = "active";
    second.role = "standby";
    const lines: Array<Record<string, unknown>> = [];
    await startDataNode([first, second], undefined, lines);
    await until("both heard from", () => first.heartbeats.length >= 2 && second.heartbeats.length >= 2);
    second.trash.push(CHUNK_A);
    await until("the standby's work refused", () => lines.some((l) => l.msg === "work from a NameNode not known active was ignored"));
    first.role = "standby";
    second.role = "active";
    await until("the swap seen", () => lines.some((l) => l.msg === "NameNode role" && l.namenode === second.address && l.role === "active"));
    const before = second.heartbeats.length;
    // Work from the new active is taken: its confirmations go back to it.
    second.trash.push(CHUNK_B);
    await until("the deletion confirmed to the new active", () => second.heartbeats.slice(before).some((h) => h.deletedChunkIds.includes(CHUNK_B)));
  });
});
