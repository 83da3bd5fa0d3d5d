import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoPath } from "./repo-files.js";
import { unknownConfigEnv } from "./config-env.js";
import { nameNodeDefaults } from "@trainfs/namenode";
import { dataNodeDefaults } from "@trainfs/datanode";
import { s3GatewayDefaults } from "@trainfs/s3-gateway";

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
function instructions(app: string): Array<{ op: string; args: string }> {
  const text = readFileSync(repoPath("apps", app, "Dockerfile"), "utf8");
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}
const args = (app: string, op: string) => instructions(app).filter((i) => i.op === op).map((i) => i.args);

describe.each([
  // The images expose and probe the port the process listens on by default.
  ["namenode", "TRAINFS_NAMENODE_", nameNodeDefaults.port],
  ["datanode", "TRAINFS_DATANODE_", dataNodeDefaults.port],
] as const)("apps/%s/Dockerfile", (app, prefix, port) => {
  it("takes the base image as a build argument", () => {
    expect(instructions(app).slice(0, 2)).toEqual([
      { op: "ARG", args: "BASE=node:22-slim" },
      { op: "FROM", args: "${BASE}" },
    ]);
  });

  it("runs as a non-root user, keeps data in a volume it owns, and probes /healthz", () => {
    expect(args(app, "USER")).toEqual(["1000:1000"]);
    expect(args(app, "VOLUME")).toEqual(['["/data"]']);
    expect(args(app, "COPY")).toContain("--chown=1000:1000 volume/ /data/");
    expect(args(app, "EXPOSE")).toEqual([String(port)]);
    const [healthcheck] = args(app, "HEALTHCHECK");
    expect(healthcheck).toContain(`process.env.${prefix}PORT || ${port}}/healthz`);
    expect(args(app, "ENTRYPOINT")).toEqual(['["node", "/app/dist/main.js"]']);
  });

  it("configures the process through its own environment variables", () => {
    const [env] = args(app, "ENV");
    const names = [...env!.matchAll(/([A-Z_]+)=/g)].map((m) => m[1]!);
    expect(names).toEqual(["NODE_ENV", `${prefix}HOST`, `${prefix}PORT`, `${prefix}DATA_DIR`]);
    expect(unknownConfigEnv(app, names)).toEqual([]);
    expect(env).toContain(`${prefix}HOST=0.0.0.0`);
    expect(env).toContain(`${prefix}DATA_DIR=/data`);
  });
});

describe("apps/client/Dockerfile", () => {
  it("runs the CLI as a non-root user on the same base argument", () => {
    expect(instructions("client").slice(0, 2)).toEqual([
      { op: "ARG", args: "BASE=node:22-slim" },
      { op: "FROM", args: "${BASE}" },
    ]);
    expect(args("client", "USER")).toEqual(["1000:1000"]);
    expect(args("client", "ENTRYPOINT")).toEqual(['["node", "/app/dist/main.js"]']);
  });
});

describe("apps/s3-gateway/Dockerfile", () => {
  it("runs the gateway as a non-root user on the same base argument, without a volume (it is stateless), and probes /healthz", () => {
    expect(instructions("s3-gateway").slice(0, 2)).toEqual([
      { op: "ARG", args: "BASE=node:22-slim" },
      { op: "FROM", args: "${BASE}" },
    ]);
    expect(args("s3-gateway", "USER")).toEqual(["1000:1000"]);
    expect(args("s3-gateway", "VOLUME")).toEqual([]);
    expect(args("s3-gateway", "EXPOSE")).toEqual([String(s3GatewayDefaults.port)]);
    const [healthcheck] = args("s3-gateway", "HEALTHCHECK");
    expect(healthcheck).toContain(`process.env.TRAINFS_S3_PORT || ${s3GatewayDefaults.port}}/healthz`);
    expect(args("s3-gateway", "ENTRYPOINT")).toEqual(['["node", "/app/dist/main.js"]']);
  });

  it("configures the process through its own environment variables", () => {
    const [env] = args("s3-gateway", "ENV");
    const names = [...env!.matchAll(/([A-Z0-9_]+)=/g)].map((m) => m[1]!);
    expect(names).toEqual(["NODE_ENV", "TRAINFS_S3_HOST", "TRAINFS_S3_PORT"]);
    expect(unknownConfigEnv("s3-gateway", names)).toEqual([]);
    expect(env).toContain(`TRAINFS_S3_PORT=${s3GatewayDefaults.port}`);
  });
});
