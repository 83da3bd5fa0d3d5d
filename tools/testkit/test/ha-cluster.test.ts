import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RpcClients } from "@trainfs/common";
import { MiniCluster, findServing, generateSecurity, getHaStatus } from "../src/index.js";
import { freePorts } from "../src/etcd-cluster.js";
import { cluster, eventually, rejection } from "./helpers.js";

/** Whether a process still exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("MiniCluster with NameNode HA: the kit's side", () => {
  it("refuses HA in process, where NameNodes cannot be killed", async () => {
    const err = await rejection(MiniCluster.start({ ha: { nameNodes: 2, etcdMembers: 1 } }));
    expect(err.message).toMatch(/HA in the MiniCluster needs mode: 'process'/);
  });

  it("stops the etcd members it started when a NameNode cannot start, leaving no process behind", async () => {
    const unexpected: string[] = [];
    let etcdPids: number[] = [];
    // An invalid NameNode setting makes every NameNode refuse to start, HA merged or not.
    const start = MiniCluster.start({
      mode: "process",
      dataNodes: 1,
      ha: { nameNodes: 2, etcdMembers: 1 },
      nameNode: { defaultReplication: 0 },
      onUnexpectedExit: (name) => unexpected.push(name),
    });
    // The etcd member is up before any NameNode starts: catch its PID meanwhile.
    const watch = (async () => {
      for (let i = 0; i < 400 && etcdPids.length === 0; i++) {
        try {
          etcdPids = execFileSync("pgrep", ["-P", String(process.pid), "-x", "etcd"], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
        } catch {
          // none yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const err = await rejection(start);
    await watch;
    expect(err.message).toMatch(/namenode/i);
    expect(etcdPids.length).toBe(1);
    await eventually(() => expect(etcdPids.filter(alive)).toEqual([]), 10_000);
  });
});

describe("finding the active NameNode", () => {
  it("without GetHaStatus: the NameNode that serves a client call, none when none answers", async () => {
    const security = generateSecurity();
    const c = await cluster({ dataNodes: 1, security });
    const [dead] = await freePorts(1);
    const rpc = new RpcClients({ token: security.clientToken });
    try {
      expect(await findServing(rpc, [`http://127.0.0.1:${dead}`, c.nameNodeAddress], 1000)).toBe(1);
      expect(await findServing(rpc, [`http://127.0.0.1:${dead}`], 1000)).toBeUndefined();
      // A refusal (no token) is an answer too: that NameNode serves.
      const anonymous = new RpcClients();
      expect(await findServing(anonymous, [c.nameNodeAddress], 1000)).toBe(0);
      anonymous.close();
    } finally {
      rpc.close();
    }
    // Without HA the one NameNode is the active one.
    expect(await c.activeNameNode()).toBe(0);
  });

});

describe("MiniCluster with NameNode HA: a failover", () => {
  it("starts two NameNodes on a 3-member etcd with one active, follows a kill -9 of the active, and brings the old one back as a standby", async () => {
    const security = generateSecurity();
    const c = await cluster({ mode: "process", dataNodes: 3, security, ha: { nameNodes: 2, etcdMembers: 3, leaseTtlSeconds: 2 } });
    expect(c.nameNodeAddresses).toHaveLength(2);
    expect(c.nameNodeAddress).toBe(c.nameNodeAddresses.join(","));
    expect(c.etcd.clientUrls).toHaveLength(3);

    const first = await c.waitForActiveNameNode();
    const statuses = await Promise.all([0, 1].map((i) => c.haStatus(i)));
    expect(statuses.map((s) => s?.role).sort()).toEqual(["active", "standby"]);
    for (const s of statuses) {
      expect(s?.haEnabled).toBe(true);
      expect(s?.activeAddress).toBe(c.nameNodeAddresses[first]);
    }

    const client = c.client();
    const data = randomBytes(300 * 1024);
    await client.put(data, "/ha/before.bin");

    const killedAt = Date.now();
    await c.killNameNode(first, "SIGKILL");
    expect(c.isNameNodeRunning(first)).toBe(false);
    const second = await c.waitForActiveNameNode(15_000);
    expect(second).not.toBe(first);
    // The contract's bound: lease TTL + 5 s.
    expect(Date.now() - killedAt).toBeLessThan(7_000 + 2_000);
    expect((await client.readFile("/ha/before.bin")).equals(data)).toBe(true);
    await client.put(data, "/ha/after.bin");

    await c.restartNameNode(first);
    await eventually(async () => expect((await c.haStatus(first))?.role).toBe("standby"), 20_000);
    expect(await c.activeNameNode()).toBe(second);
  });
});
