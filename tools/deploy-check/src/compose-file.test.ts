import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readYamlDocuments, repoPath } from "./repo-files.js";
import { composeSchemaErrors } from "./compose-schema.js";
import { defaultClaims, deployedSettingProblems, unknownConfigEnv } from "./config-env.js";
import { nameNodeDefaults } from "@trainfs/namenode";
import { s3GatewayDefaults } from "@trainfs/s3-gateway";

interface Service {
  image: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test?: string[]; interval?: string };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const [compose] = readYamlDocuments(repoPath("deploy/compose.yaml")) as [Compose];
const composeText = readFileSync(repoPath("deploy/compose.yaml"), "utf8");
const datanodes = Object.keys(compose.services).filter((name) => name.startsWith("datanode-"));

describe("deploy/compose.yaml", () => {
  it("conforms to the compose-spec schema", () => {
    expect(composeSchemaErrors(compose)).toEqual([]);
  });

  it("the schema check rejects unknown and mistyped keys", () => {
    const broken = structuredClone(compose) as any;
    broken.services.namenode.healthchek = broken.services.namenode.healthcheck;
    broken.services["datanode-1"].ports = "9866:9866";
    const errors = composeSchemaErrors(broken);
    expect(errors.join("\n")).toMatch(/must NOT have additional properties: healthchek/);
    expect(errors.join("\n")).toMatch(/\/services\/datanode-1\/ports must be array/);
  });

  it("runs one NameNode and three DataNodes, each on its own named volume", () => {
    expect(datanodes).toEqual(["datanode-1", "datanode-2", "datanode-3"]);
    const mounts = ["namenode", ...datanodes].map((name) => compose.services[name]!.volumes);
    expect(mounts).toEqual([["namenode-data:/data"], ["datanode-1-data:/data"], ["datanode-2-data:/data"], ["datanode-3-data:/data"]]);
    expect(Object.keys(compose.volumes).sort()).toEqual(["datanode-1-data", "datanode-2-data", "datanode-3-data", "namenode-data"]);
  });

  it("each DataNode advertises its own service name and port, which it listens on and publishes", () => {
    const advertised = datanodes.map((name) => {
      const env = compose.services[name]!.environment!;
      const port = env.TRAINFS_DATANODE_PORT;
      expect(env.TRAINFS_DATANODE_ADVERTISE_ADDRESS).toBe(`http://\${TRAINFS_ADVERTISE_HOST:-${name}}:${port}`);
      expect(compose.services[name]!.ports).toEqual([`\${TRAINFS_BIND:-127.0.0.1}:${port}:${port}`]);
      // The NameNode service sets no port: it listens on its default.
      expect(env.TRAINFS_DATANODE_NAMENODE).toBe(`http://namenode:${nameNodeDefaults.port}`);
      return port;
    });
    expect(new Set(advertised).size).toBe(3);
  });

  it("requires the cluster secret and an API token from the environment (.env)", () => {
    const secret = "${TRAINFS_CLUSTER_SECRET:?set TRAINFS_CLUSTER_SECRET in deploy/.env}";
    expect(compose.services.namenode!.environment!.TRAINFS_NAMENODE_CLUSTER_SECRET).toBe(secret);
    expect(compose.services.namenode!.environment!.TRAINFS_NAMENODE_API_TOKENS).toMatch(/^\$\{TRAINFS_NAMENODE_API_TOKENS:\?/);
    for (const name of datanodes) expect(compose.services[name]!.environment!.TRAINFS_DATANODE_CLUSTER_SECRET).toBe(secret);
    expect(compose.services.cli!.environment!.TRAINFS_TOKEN).toBe("${TRAINFS_TOKEN}");
  });

  it("health-checks every server with its image's HEALTHCHECK, and DataNodes start once the NameNode serves", () => {
    // No `test` in Compose: podman-compose 1.0.3 turns a CMD test into
    // `/bin/sh -c ...`, and the images have no shell. The images' own test
    // (Node fetching /healthz on the configured port) applies under both tools.
    for (const name of ["namenode", ...datanodes]) {
      const healthcheck = compose.services[name]!.healthcheck as Record<string, unknown> | undefined;
      expect(healthcheck, name).toBeDefined();
      expect(healthcheck!.test, name).toBeUndefined();
      expect(healthcheck!.interval, name).toBe("10s");
    }
    for (const app of ["namenode", "datanode"]) {
      const dockerfile = readFileSync(repoPath(`apps/${app}/Dockerfile`), "utf8");
      const healthcheck = /^HEALTHCHECK .*\\\n.*$/m.exec(dockerfile)?.[0] ?? "";
      expect(healthcheck).toContain('CMD ["node", "-e"');
      expect(healthcheck).toContain(`http://127.0.0.1:\${process.env.TRAINFS_${app.toUpperCase()}_PORT`);
      expect(healthcheck).toContain("/healthz");
    }
    for (const name of datanodes) {
      expect(compose.services[name]!.depends_on).toEqual({ namenode: { condition: "service_healthy" } });
    }
  });

  it("runs an S3 gateway on the NameNode's service, with its token and key pairs from .env, published on its port", () => {
    const gateway = compose.services["s3-gateway"]!;
    expect(gateway.environment!.TRAINFS_S3_NAMENODE).toBe(`http://namenode:${nameNodeDefaults.port}`);
    expect(gateway.environment!.TRAINFS_S3_TOKEN).toMatch(/^\$\{TRAINFS_S3_TOKEN:\?/);
    expect(gateway.environment!.TRAINFS_S3_CREDENTIALS).toMatch(/^\$\{TRAINFS_S3_CREDENTIALS:\?/);
    expect(gateway.ports).toEqual([`\${TRAINFS_BIND:-127.0.0.1}:${s3GatewayDefaults.port}:${s3GatewayDefaults.port}`]);
    expect(gateway.depends_on).toEqual({ namenode: { condition: "service_healthy" } });
    expect(gateway.volumes).toBeUndefined();
    const healthcheck = gateway.healthcheck as Record<string, unknown>;
    expect(healthcheck.test).toBeUndefined();
    expect(healthcheck.interval).toBe("10s");
    // .env.example names every variable the file requires.
    const example = readFileSync(repoPath("deploy/.env.example"), "utf8");
    for (const required of composeText.matchAll(/\$\{([A-Z0-9_]+):\?/g)) expect(example, required[1]).toMatch(new RegExp(`^${required[1]}=`, "m"));
    expect(unknownConfigEnv("s3-gateway", Object.keys(gateway.environment!))).toEqual([]);
    const settings = Object.entries(gateway.environment!).map(([name, value]) => ({ name, value: String(value), claimsDefault: defaultClaims(composeText).has(name) }));
    expect(deployedSettingProblems("s3-gateway", settings)).toEqual([]);
  });

  it("sets only environment variables the processes read", () => {
    expect(unknownConfigEnv("namenode", Object.keys(compose.services.namenode!.environment!))).toEqual([]);
    for (const name of datanodes) expect(unknownConfigEnv("datanode", Object.keys(compose.services[name]!.environment!))).toEqual([]);
  });

  it("sets values the processes accept, and defaults it claims are the schemas' defaults", () => {
    const claims = defaultClaims(composeText);
    const settings = (service: string) =>
      Object.entries(compose.services[service]!.environment!).map(([name, value]) => ({ name, value: String(value), claimsDefault: claims.has(name) }));
    expect(deployedSettingProblems("namenode", settings("namenode"))).toEqual([]);
    for (const name of datanodes) expect(deployedSettingProblems("datanode", settings(name)), name).toEqual([]);
  });

  it("publishes the NameNode on its default port, the one it listens on", () => {
    expect(compose.services.namenode!.ports).toEqual([`\${TRAINFS_BIND:-127.0.0.1}:${nameNodeDefaults.port}:${nameNodeDefaults.port}`]);
  });
});
