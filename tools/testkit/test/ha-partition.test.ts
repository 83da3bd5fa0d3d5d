import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { TrainfsClient } from "@trainfs/client";
import { RpcClients } from "@trainfs/common";
import { ClientService } from "@trainfs/proto";
import { EtcdCluster, NetLab, findActive, generateSecurity, getHaStatus, startNodeProcess, type NodeProcess } from "../src/index.js";
import { eventually, workDir } from "./helpers.js";

const unavailable = await NetLab.available();
const LEASE_TTL_SECONDS = 2;
const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * NameNode HA across test hosts (network namespaces): a 3-member etcd on one
 * host, a NameNode on each of two more, three DataNodes on a fourth. The
 * active NameNode is cut off from etcd alone (its packets to etcd dropped);
 * clients and DataNodes still reach it.
 */
describe.skipIf(unavailable !== undefined)(`NameNode HA across hosts${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  it("an active NameNode partitioned from etcd stops accepting writes within the lease TTL; the other takes over; healed, it follows as a standby", async () => {
    const dir = await workDir();
    const lab = await NetLab.create(["etcd", "nn1", "nn2", "dn"], { subnet: "198.18.79", reachable: true });
    cleanups.push(() => lab.destroy());
    const etcd = await EtcdCluster.start({
      members: 3, dir: join(dir, "etcd"), host: lab.address("etcd"), wrap: lab.wrap("etcd"),
      clientPorts: [2379, 2479, 2579], peerPorts: [2380, 2480, 2580],
    });
    cleanups.push(() => etcd.stop());
    const security = generateSecurity();
    const procs: NodeProcess[] = [];
    cleanups.push(() => Promise.all(procs.map((p) => p.kill())));

    const hosts = ["nn1", "nn2"] as const;
    const address = (h: string) => `http://${lab.address(h)}:9870`;
    for (const h of hosts) {
      procs.push(
        await startNodeProcess(
          "@trainfs/namenode",
          ["--host", lab.address(h), "--port", "9870", "--data-dir", join(dir, h), "--ha-etcd", etcd.endpoints, "--advertise-address", address(h),
            "--ha-lease-ttl-seconds", String(LEASE_TTL_SECONDS), "--heartbeat-timeout-ms", "2000", "--monitor-interval-ms", "200"],
          {
            wrap: lab.wrap(h), logFile: join(dir, `${h}.log`),
            env: { TRAINFS_NAMENODE_CLUSTER_SECRET: security.clusterSecret, TRAINFS_NAMENODE_API_TOKENS: security.apiTokens.join(",") },
          },
        ),
      );
    }
    for (const port of [9866, 9867, 9868]) {
      const p = await startNodeProcess(
        "@trainfs/datanode",
        ["--host", lab.address("dn"), "--port", String(port), "--data-dir", join(dir, `dn-${port}`), "--namenode", hosts.map(address).join(","), "--heartbeat-interval-ms", "200"],
        { wrap: lab.wrap("dn"), logFile: join(dir, `dn-${port}.log`), env: { TRAINFS_DATANODE_CLUSTER_SECRET: security.clusterSecret } },
      );
      procs.push(p);
    }

    const rpc = new RpcClients({ token: security.clientToken });
    cleanups.push(async () => rpc.close());
    const fs = new TrainfsClient({ namenode: hosts.map(address), token: security.clientToken });
    cleanups.push(async () => fs.close());
    const activeNow = () => findActive(rpc, hosts.map(address), 1000);
    const first = await eventually(async () => {
      const i = await activeNow();
      expect(i).toBeDefined();
      return i!;
    }, 30_000, 200);
    const cutHost = hosts[first]!;
    const otherHost = hosts[1 - first]!;

    const acked = new Map<string, string>();
    const putSome = async (prefix: string) => {
      for (let n = 0; n < 5; n++) {
        const data = randomBytes(50_000);
        await fs.writeFile(`${prefix}/f${n}`, data);
        acked.set(`${prefix}/f${n}`, sha(data));
      }
    };
    await eventually(() => putSome("/before"), 30_000, 500);

    // Only the active NameNode's packets to etcd are dropped: clients still reach it.
    await lab.cutBetween(cutHost, "etcd");
    const cutAt = Date.now();
    const direct = rpc.client(ClientService, address(cutHost));
    const refusals: Array<{ path: string; code: Code; atMs: number }> = [];
    const tried: string[] = [];
    for (let n = 0; refusals.length < 2 && Date.now() - cutAt < 30_000; n++) {
      const path = `/cut/d${n}`;
      tried.push(path);
      try {
        await direct.mkdir({ path, parents: true }, { timeoutMs: 15_000 });
      } catch (err) {
        refusals.push({ path, code: ConnectError.from(err).code, atMs: Date.now() - cutAt });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Refused within the TTL (and the watchdog's half-second turn and a loaded machine's slack), and refused from then on.
    expect(refusals).toHaveLength(2);
    expect(refusals[0]!.atMs).toBeLessThanOrEqual(LEASE_TTL_SECONDS * 1000 + 1500);
    expect([Code.Unavailable, Code.DeadlineExceeded]).toContain(refusals[0]!.code);
    expect(refusals[1]!.code).toBe(Code.Unavailable);
    // Not one write was acknowledged after the cut: the first one already waited for etcd in vain.
    expect(refusals[0]!.path).toBe(tried[0]);

    // The other NameNode takes over, and writes go on through the same client.
    await eventually(async () => expect(await activeNow()).toBe(1 - first), (LEASE_TTL_SECONDS + 15) * 1000, 200);
    await eventually(() => putSome("/after"), 30_000, 500);
    // Nothing the cut-off NameNode took after the cut was made: it never reached etcd.
    for (const path of tried) expect(await fs.exists(path), path).toBe(false);

    // Healed, the old active follows the new one as a standby, up to its head.
    await lab.healBetween(cutHost, "etcd");
    await eventually(async () => {
      const [old, now] = await Promise.all([getHaStatus(rpc, address(cutHost)), getHaStatus(rpc, address(otherHost))]);
      expect(old?.role).toBe("standby");
      expect(now?.role).toBe("active");
      expect(old?.activeAddress).toBe(address(otherHost));
      expect(old?.appliedSeq).toBe(now?.appliedSeq);
    }, 30_000, 250);
    for (const [path, expected] of acked) expect(sha(await fs.readFile(path)), path).toBe(expected);
  });
});
