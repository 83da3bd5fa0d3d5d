import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readYamlDocuments, repoPath } from "./repo-files.js";
import { composeSchemaErrors } from "./compose-schema.js";
import { HA_NAMENODE_ENV, defaultClaims, deployedHaSettingProblems, pendingHaNameNodeEnv, unknownConfigEnv } from "./config-env.js";

interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: Record<string, unknown>;
  depends_on?: Record<string, { condition: string }> | string[];
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const [ha] = readYamlDocuments(repoPath("deploy/compose-ha.yaml")) as [Compose];
const [single] = readYamlDocuments(repoPath("deploy/compose.yaml")) as [Compose];
const haText = readFileSync(repoPath("deploy/compose-ha.yaml"), "utf8");
const named = (prefix: string) => Object.keys(ha.services).filter((name) => name.startsWith(prefix));
const etcds = named("etcd-");
const nameNodes = named("namenode-");
const dataNodes = named("datanode-");
const flag = (s: Service, name: string) => s.command?.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

describe("deploy/compose-ha.yaml (NameNode HA)", () => {
  it("conforms to the compose-spec schema", () => {
    expect(composeSchemaErrors(ha)).toEqual([]);
  });

  it("runs a 3-member etcd, each member on its own volume, named in every member's initial cluster, and not published", () => {
    expect(etcds).toEqual(["etcd-1", "etcd-2", "etcd-3"]);
    for (const name of etcds) {
      const s = ha.services[name]!;
      expect(flag(s, "name")).toBe(name);
      expect(flag(s, "initial-cluster")).toBe(etcds.map((m) => `${m}=http://${m}:2380`).join(","));
      expect(flag(s, "advertise-client-urls")).toBe(`http://${name}:2379`);
      expect(flag(s, "initial-advertise-peer-urls")).toBe(`http://${name}:2380`);
      expect(flag(s, "initial-cluster-state")).toBe("new");
      expect(flag(s, "auto-compaction-mode")).toBe("periodic");
      expect(Number(flag(s, "quota-backend-bytes"))).toBeGreaterThan(0);
      expect(s.volumes).toEqual([`${name}-data:/etcd-data`]);
      // Built by scripts/containers/build-etcd-image.sh, named like the other images.
      expect(s.image).toBe("${TRAINFS_IMAGE_PREFIX:-localhost/}trainfs-etcd:${TRAINFS_IMAGE_TAG:-dev}");
      expect(s.command![0]).toBe("/usr/local/bin/etcd");
      expect(flag(s, "data-dir")!.startsWith("/etcd-data/")).toBe(true);
      expect(s.ports).toBeUndefined();
    }
  });

  it("runs two NameNodes with HA on: the etcd members, each its own advertised address and port, its own volume", () => {
    expect(nameNodes).toEqual(["namenode-1", "namenode-2"]);
    const etcdUrls = etcds.map((m) => `http://${m}:2379`).join(",");
    const ports = nameNodes.map((name, i) => {
      const s = ha.services[name]!;
      const env = s.environment!;
      expect(env.TRAINFS_NAMENODE_HA_ETCD).toBe(etcdUrls);
      const port = env.TRAINFS_NAMENODE_PORT!;
      expect(env.TRAINFS_NAMENODE_ADVERTISE_ADDRESS).toBe(`http://\${TRAINFS_ADVERTISE_HOST:-${name}}:${port}`);
      expect(s.ports).toEqual([`\${TRAINFS_BIND:-127.0.0.1}:${port}:${port}`]);
      expect(s.volumes).toEqual([`namenode-${i + 1}-data:/data`]);
      expect(s.depends_on).toEqual(etcds);
      // Both share the cluster secret (and so the chunk-token keys) and the API tokens.
      expect(env.TRAINFS_NAMENODE_CLUSTER_SECRET).toBe(single.services.namenode!.environment!.TRAINFS_NAMENODE_CLUSTER_SECRET);
      expect(env.TRAINFS_NAMENODE_API_TOKENS).toBe(single.services.namenode!.environment!.TRAINFS_NAMENODE_API_TOKENS);
      return port;
    });
    expect(new Set(ports).size).toBe(2);
  });

  it("gives DataNodes, the S3 gateway and the cli every NameNode's advertised address, and is otherwise compose.yaml", () => {
    const list = nameNodes.map((n) => ha.services[n]!.environment!.TRAINFS_NAMENODE_ADVERTISE_ADDRESS).join(",");
    const bothHealthy = Object.fromEntries(nameNodes.map((n) => [n, { condition: "service_healthy" }]));
    expect(dataNodes).toEqual(["datanode-1", "datanode-2", "datanode-3"]);
    for (const name of [...dataNodes, "s3-gateway"]) {
      const s = ha.services[name]!;
      const env = s.environment!;
      expect(env.TRAINFS_DATANODE_NAMENODE ?? env.TRAINFS_S3_NAMENODE, name).toBe(list);
      expect(s.depends_on, name).toEqual(bothHealthy);
      // The rest as in compose.yaml, so the two files cannot drift apart.
      const strip = (x: Service) => ({ ...x, depends_on: undefined, environment: { ...x.environment, TRAINFS_DATANODE_NAMENODE: undefined, TRAINFS_S3_NAMENODE: undefined } });
      expect(strip(s), name).toEqual(strip(single.services[name]!));
    }
    expect(ha.services.cli!.environment!.TRAINFS_NAMENODE).toBe(list);
    expect(Object.keys(ha.volumes).sort()).toEqual([...etcds, ...nameNodes, ...dataNodes].map((n) => `${n}-data`).sort());
  });

  it("requires from .env only what .env.example names", () => {
    const example = readFileSync(repoPath("deploy/.env.example"), "utf8");
    for (const required of haText.matchAll(/\$\{([A-Z0-9_]+):\?/g)) expect(example, required[1]).toMatch(new RegExp(`^${required[1]}=`, "m"));
  });

  it("sets only settings the processes have, with values they accept (the HA NameNode settings once the NameNode has them)", () => {
    const pending = pendingHaNameNodeEnv();
    // Only the contract's three may be pending, and only while the NameNode lacks them.
    for (const name of pending) expect(HA_NAMENODE_ENV).toContain(name);
    const claims = defaultClaims(haText);
    const settings = (service: string) =>
      Object.entries(ha.services[service]!.environment!).map(([name, value]) => ({ name, value: String(value), claimsDefault: claims.has(name) }));
    for (const name of nameNodes) {
      expect(unknownConfigEnv("namenode", Object.keys(ha.services[name]!.environment!)).filter((n) => !pending.includes(n)), name).toEqual([]);
      expect(deployedHaSettingProblems("namenode", settings(name)), name).toEqual([]);
    }
    for (const name of dataNodes) {
      expect(unknownConfigEnv("datanode", Object.keys(ha.services[name]!.environment!)), name).toEqual([]);
      expect(deployedHaSettingProblems("datanode", settings(name)), name).toEqual([]);
    }
    expect(unknownConfigEnv("s3-gateway", Object.keys(ha.services["s3-gateway"]!.environment!))).toEqual([]);
    expect(deployedHaSettingProblems("s3-gateway", settings("s3-gateway"))).toEqual([]);
  });

  it("the HA settings check still catches a misspelt HA setting and a bad address in a NameNode list", () => {
    expect(unknownConfigEnv("namenode", ["TRAINFS_NAMENODE_HA_ETC"])).toEqual(["TRAINFS_NAMENODE_HA_ETC"]);
    const problems = deployedHaSettingProblems("datanode", [{ name: "TRAINFS_DATANODE_NAMENODE", value: "http://namenode-1:9870,namenode-2:9871", claimsDefault: false }]);
    expect(problems.join("\n")).toMatch(/TRAINFS_DATANODE_NAMENODE=.*namenode-2:9871/);
  });
});
