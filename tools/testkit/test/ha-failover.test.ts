import { createHash, randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ClientService } from "@trainfs/proto";
import { RpcClients } from "@trainfs/common";
import { MiniCluster, generateSecurity, type ClusterSecurity } from "../src/index.js";
import { cluster, eventually, newActiveNameNode } from "./helpers.js";

/**
 * NameNode high availability through the test kit: real processes, a
 * 3-member etcd, two NameNodes with a 2 s lease. The HA tests that
 * the kit can drive (failover under load, fencing of a paused active, an
 * etcd leader killed during puts, a standby catching up after 10,000
 * changes). They need the NameNode side of HA, and run once it is merged.
 */
const LEASE_TTL_SECONDS = 2;
const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function haCluster(security: ClusterSecurity): Promise<MiniCluster> {
  return cluster({ mode: "process", dataNodes: 3, security, ha: { nameNodes: 2, etcdMembers: 3, leaseTtlSeconds: LEASE_TTL_SECONDS } });
}

/** A different NameNode became active (any other than `was`); its index. */
const newActive = (c: MiniCluster, was: number) => newActiveNameNode(c, was, (LEASE_TTL_SECONDS + 10) * 1000);

describe("NameNode HA", () => {
  it("failover under load: every acknowledged put reads back with its sha256, and a failed put shows nothing or its own bytes", async () => {
    const security = generateSecurity();
    const c = await haCluster(security);
    const acked = new Map<string, { sha: string; at: number }>();
    const failed = new Map<string, string>();
    let stop = false;
    const worker = async (id: number) => {
      const fs = c.client();
      for (let n = 0; !stop; n++) {
        const path = `/load/c${id}-${n}`;
        const data = randomBytes(1 + Math.floor(Math.random() * 600_000));
        try {
          await fs.writeFile(path, data);
          acked.set(path, { sha: sha(data), at: Date.now() });
        } catch {
          failed.set(path, sha(data));
        }
        // And a get of something acknowledged, through the same client.
        const known = [...acked.keys()];
        const pick = known[Math.floor(Math.random() * known.length)];
        if (pick) await fs.readFile(pick).catch(() => undefined);
      }
    };
    const workers = [worker(1), worker(2)];
    await eventually(() => expect(acked.size).toBeGreaterThanOrEqual(10), 60_000);
    const active = await c.waitForActiveNameNode();
    const killedAt = Date.now();
    await c.killNameNode(active, "SIGKILL");
    const next = await newActive(c, active);
    expect(next).not.toBe(active);
    // Puts go on, on the new active.
    await eventually(() => expect([...acked.values()].filter((a) => a.at > killedAt).length).toBeGreaterThanOrEqual(5), 60_000);
    stop = true;
    await Promise.all(workers);

    const fs = c.client();
    for (const [path, { sha: expected }] of acked) expect(sha(await fs.readFile(path)), path).toBe(expected);
    for (const [path, tried] of failed) {
      // Not acknowledged: absent, or completed on the new active with exactly its bytes.
      if (await fs.exists(path)) expect(sha(await fs.readFile(path)), path).toBe(tried);
    }
  });

  it("fencing: an active paused past its lease commits nothing when it wakes, and turns itself into a standby", async () => {
    const security = generateSecurity();
    const c = await haCluster(security);
    const fs = c.client();
    await fs.writeFile("/fence/before", "before");
    const old = await c.waitForActiveNameNode();
    const oldAddress = c.nameNodeAddresses[old]!;

    await c.killNameNode(old, "SIGSTOP");
    const next = await newActive(c, old);
    // The client's first try may go to the paused NameNode: it fails clearly
    // (the client cannot tell whether it was made), and the retry reaches the new active.
    await fs.writeFile("/fence/during", "on the new active").catch(async (err: unknown) => {
      expect(String(err)).toMatch(/PutFile under way .*it may have been done/);
      await fs.writeFile("/fence/during", "on the new active");
    });

    // Straight to the old one, not through a client that follows hints.
    const rpc = new RpcClients({ token: security.clientToken });
    try {
      await c.killNameNode(old, "SIGCONT");
      const stale = await rpc.client(ClientService, oldAddress).mkdir({ path: "/fence/stale", parents: true }, { timeoutMs: 10_000 }).then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
      expect(stale, "a write accepted by the fenced NameNode").toBeDefined();
      await eventually(async () => {
        const status = await c.haStatus(old);
        expect(status?.role).toBe("standby");
        expect(status?.activeAddress).toBe(c.nameNodeAddresses[next]);
      }, (LEASE_TTL_SECONDS + 5) * 1000);
      // A standby refuses client calls with `unavailable` (and says who is active).
      const refused = await rpc.client(ClientService, oldAddress).stat({ path: "/" }).then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
      expect(refused?.code).toBe(Code.Unavailable);
    } finally {
      rpc.close();
    }
    expect(await fs.exists("/fence/stale")).toBe(false);

    // In the old NameNode's own metadata too: once it has caught up, make it active again and look.
    await eventually(async () => {
      const [a, b] = await Promise.all([c.haStatus(old), c.haStatus(next)]);
      expect(a?.appliedSeq).toBe(b?.appliedSeq);
    }, 20_000);
    await c.killNameNode(next, "SIGKILL");
    expect(await newActive(c, next)).toBe(old);
    expect(await fs.exists("/fence/stale")).toBe(false);
    expect((await fs.readFile("/fence/during")).toString()).toBe("on the new active");
    expect((await fs.readFile("/fence/before")).toString()).toBe("before");
  });

  it("kill -9 of the etcd leader during puts: puts pause at most for etcd's election, and nothing acknowledged is lost", async () => {
    const security = generateSecurity();
    const c = await haCluster(security);
    const fs = c.client();
    const acked = new Map<string, string>();
    const ackTimes: number[] = [];
    let failures = 0;
    let stop = false;
    const putter = (async () => {
      for (let n = 0; !stop; n++) {
        const data = randomBytes(20_000);
        try {
          await fs.writeFile(`/etcd-kill/f${n}`, data);
          acked.set(`/etcd-kill/f${n}`, sha(data));
          ackTimes.push(Date.now());
        } catch {
          failures++;
        }
      }
    })();
    await eventually(() => expect(acked.size).toBeGreaterThanOrEqual(10), 60_000);
    const leader = await c.etcd.waitForLeader();
    const killedAt = Date.now();
    await c.etcd.kill(leader, "SIGKILL");
    await eventually(() => expect(ackTimes.filter((t) => t > killedAt + 2000).length).toBeGreaterThanOrEqual(10), 60_000);
    stop = true;
    await putter;
    // The longest pause between two acknowledgements around the kill: an etcd election (1 s by default) and a retry, not a failover.
    const around = ackTimes.filter((t) => t > killedAt - 5000);
    const gaps = around.slice(1).map((t, i) => t - around[i]!);
    expect(Math.max(...gaps)).toBeLessThan(10_000);
    for (const [path, expected] of acked) expect(sha(await fs.readFile(path)), path).toBe(expected);
    expect(failures).toBeLessThanOrEqual(3);
    await c.etcd.restart(leader);
  });

  it("a standby restarted after 10,000 changes catches up, and can take over", async () => {
    const security = generateSecurity();
    const c = await haCluster(security);
    const fs = c.client();
    const active = await c.waitForActiveNameNode();
    const standby = active === 0 ? 1 : 0;
    await c.killNameNode(standby, "SIGKILL");
    await fs.mkdir("/many");
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 10_000) await fs.mkdir(`/many/d${next++}`);
      }),
    );
    await c.restartNameNode(standby);
    await eventually(async () => {
      const [s, a] = await Promise.all([c.haStatus(standby), c.haStatus(active)]);
      expect(s?.role).toBe("standby");
      expect(s?.appliedSeq).toBe(a?.appliedSeq);
    }, 120_000, 500);
    await c.killNameNode(active, "SIGKILL");
    expect(await newActive(c, active)).toBe(standby);
    const listed = await fs.list("/many");
    expect(listed.length).toBe(10_000);
    for (const i of [0, 4999, 9999]) expect((await fs.stat(`/many/d${i}`)).path).toBe(`/many/d${i}`);
    // Changes go on, on the caught-up NameNode.
    await fs.writeFile("/many/after", "taken over");
    expect((await fs.readFile("/many/after")).toString()).toBe("taken over");
  });
});
