import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { request } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdCluster, createCertificateAuthority, generateSecurity, type EtcdClientTls } from "../src/index.js";
import { cluster, newActiveNameNode, rejection, workDir } from "./helpers.js";

/** What an https request to etcd's JSON gateway got: a status, or the error that stopped it. */
async function rawEtcdCall(url: string, path: string, tls: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<string> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { method: "POST", ...tls, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(`status ${res.statusCode}`));
    });
    req.on("timeout", () => req.destroy(new Error("timed out"))).on("error", (err) => resolve(`error ${err.message}`));
    req.end(JSON.stringify({ key: Buffer.from("/trainfs/").toString("base64") }));
  });
}

/**
 * NameNode HA against an etcd that lets no one in without a right: TLS on
 * every port with client certificates required (`--client-cert-auth`), and
 * etcd's own users, the NameNodes' confined to their cluster's key space.
 */
describe("NameNode HA on an etcd with TLS and authentication", () => {
  let etcd: EtcdCluster;
  let nameNodeTls: EtcdClientTls;
  const password = randomBytes(12).toString("base64url");

  let dir: string;

  beforeAll(async () => {
    // Not workDir(): that one is removed after each test, and these files serve them all.
    dir = await mkdtemp(join(tmpdir(), "trainfs-etcd-tls-"));
    etcd = await EtcdCluster.start({ members: 1, dir: join(dir, "etcd"), tls: await createCertificateAuthority(join(dir, "ca")) });
    await etcd.enableAuth(randomBytes(12).toString("base64url"));
    await etcd.addUser("trainfs-nn", password, "/trainfs/default/");
    await etcd.addUser("outsider", password);
    nameNodeTls = await etcd.issueClientTls("trainfs-nn");
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses any client without a certificate from its CA, before it can read a key", async () => {
    const url = etcd.clientUrls[0]!;
    const ca = readFileSync(nameNodeTls.caFile);
    const stranger = await createCertificateAuthority(join(await workDir(), "stranger"));
    const foreign = await stranger.issue("foreign", { commonName: "trainfs-nn" });
    expect(await rawEtcdCall(url, "/v3/kv/range", { ca })).toMatch(/^error /);
    expect(await rawEtcdCall(url, "/v3/kv/range", { ca, cert: readFileSync(foreign.certFile), key: readFileSync(foreign.keyFile) })).toMatch(/^error /);
    // A certificate from the right CA gets through TLS (and then meets etcd's users).
    expect(await rawEtcdCall(url, "/health", { ca, cert: readFileSync(nameNodeTls.certFile), key: readFileSync(nameNodeTls.keyFile) })).toMatch(/^status /);
  });

  it("runs HA with the NameNodes' certificate and user: puts, a failover, reads back", async () => {
    const c = await cluster({
      mode: "process",
      dataNodes: 3,
      security: generateSecurity(),
      ha: { nameNodes: 2, etcd, etcdAccess: { tls: nameNodeTls, user: "trainfs-nn", password }, leaseTtlSeconds: 2 },
    });
    const fs = c.client();
    const data = randomBytes(300_000);
    await fs.writeFile("/secure/before.bin", data);
    const active = await c.waitForActiveNameNode();
    await c.killNameNode(active, "SIGKILL");
    await newActiveNameNode(c, active);
    expect((await fs.readFile("/secure/before.bin")).equals(data)).toBe(true);
    await fs.writeFile("/secure/after.bin", data);
    expect((await fs.readFile("/secure/after.bin")).equals(data)).toBe(true);
  });

  it("a NameNode with a wrong password, or a user without rights on its key space, stops at once and says why", async () => {
    for (const [access, expected] of [
      [{ tls: nameNodeTls, user: "trainfs-nn", password: "not-the-password" }, /etcd at https:\/\/127\.0\.0\.1:\d+ refused this NameNode \(user trainfs-nn\): .*authentication failed/],
      [{ tls: nameNodeTls, user: "outsider", password }, /refused this NameNode \(user outsider\): .*permission denied.*needs read-write on \/trainfs\/default\//],
    ] as const) {
      const started = Date.now();
      const err = await rejection(cluster({ mode: "process", dataNodes: 0, security: generateSecurity(), ha: { nameNodes: 1, etcd, etcdAccess: access } }));
      expect(err.message).toMatch(expected);
      // Not the 30 s a NameNode keeps trying an etcd that does not answer.
      expect(Date.now() - started).toBeLessThan(20_000);
    }
  });
});
