import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { etcdConnection } from "./etcd-connection.js";

const dir = mkdtempSync(join(tmpdir(), "etcd-connection-"));
const pem = (name: string) => {
  const path = join(dir, name);
  writeFileSync(path, `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`);
  return path;
};

describe("etcdConnection", () => {
  it("is undefined without haEtcd, and refuses etcd settings given without it", () => {
    expect(etcdConnection({})).toBeUndefined();
    expect(() => etcdConnection({ haEtcdUser: "nn", haEtcdPassword: "pw" })).toThrow(/haEtcdUser, haEtcdPassword set without haEtcd/);
  });

  it("reads cleartext URLs with a user, and TLS files for https:// ones", () => {
    expect(etcdConnection({ haEtcd: " http://a:2379 , http://b:2379", haEtcdUser: "nn", haEtcdPassword: "pw" })).toEqual({
      endpoints: ["http://a:2379", "http://b:2379"],
      tls: undefined,
      auth: { username: "nn", password: "pw" },
    });
    const c = etcdConnection({ haEtcd: "https://a:2379", haEtcdCa: pem("ca.pem"), haEtcdCert: pem("cert.pem"), haEtcdKey: pem("key.pem") })!;
    expect(c.tls?.ca?.toString()).toContain("ca.pem");
    expect(c.tls?.cert?.toString()).toContain("cert.pem");
    expect(c.tls?.key?.toString()).toContain("key.pem");
    expect(c.auth).toBeUndefined();
    // https:// with nothing else: the system's roots, no client certificate.
    expect(etcdConnection({ haEtcd: "https://a:2379" })!.tls).toEqual({});
  });

  it("refuses what would silently weaken or break the connection", () => {
    expect(() => etcdConnection({ haEtcd: "http://a:2379,https://b:2379" })).toThrow(/mixes http:\/\/ and https:\/\//);
    expect(() => etcdConnection({ haEtcd: "http://a:2379", haEtcdCa: pem("ca.pem") })).toThrow(/haEtcdCa need https:\/\/ etcd URLs/);
    expect(() => etcdConnection({ haEtcd: "https://a:2379", haEtcdCert: pem("cert.pem") })).toThrow(/both haEtcdCert and haEtcdKey/);
    expect(() => etcdConnection({ haEtcd: "http://a:2379", haEtcdUser: "nn" })).toThrow(/both haEtcdUser and haEtcdPassword/);
    expect(() => etcdConnection({ haEtcd: "a:2379" })).toThrow(/not an etcd client URL/);
    expect(() => etcdConnection({ haEtcd: "https://a:2379", haEtcdCa: join(dir, "missing.pem") })).toThrow(/cannot read haEtcdCa/);
  });
});
