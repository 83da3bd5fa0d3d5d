import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { describeSettings } from "@trainfs/common";
import { NAMENODE_ENV_PREFIX, nameNodeConfigSchema } from "@trainfs/namenode";
import { DATANODE_ENV_PREFIX, dataNodeConfigSchema } from "@trainfs/datanode";
import { S3_ENV_PREFIX, s3GatewayConfigSchema } from "@trainfs/s3-gateway";
import { repoPath } from "./repo-files.js";

const roles = [
  { role: "namenode", settings: describeSettings(nameNodeConfigSchema, NAMENODE_ENV_PREFIX), section: ["### NameNode", "### DataNode"] },
  { role: "datanode", settings: describeSettings(dataNodeConfigSchema, DATANODE_ENV_PREFIX), section: ["### DataNode", "### S3 gateway"] },
  { role: "s3-gateway", settings: describeSettings(s3GatewayConfigSchema, S3_ENV_PREFIX), section: ["### S3 gateway", "### CLI"] },
] as const;

describe("server settings", () => {
  it.each(roles)("every $role setting has its flag, placeholder and default in --help, and a row in docs/operations.md", ({ role, settings, section }) => {
    // Commander wraps help to the terminal: compare with whitespace collapsed.
    const help = execFileSync(process.execPath, [repoPath(`apps/${role}/dist/main.js`), "--help"], { encoding: "utf8" }).replace(/\s+/g, " ");
    const doc = readFileSync(repoPath("docs/operations.md"), "utf8");
    const table = doc.slice(doc.indexOf(section[0]), doc.indexOf(section[1]));
    expect(table.length).toBeGreaterThan(0);
    const missing = settings.flatMap((s) => [
      ...(help.includes(`${s.flag} ${s.placeholder} `) ? [] : [`${s.flag} not accepted`]),
      ...(s.defaultHelp === undefined || help.includes(`(default ${s.defaultHelp})`) ? [] : [`${s.flag}: default ${s.defaultHelp} not in --help`]),
      ...(table.includes(`| \`${s.key}\` | \`${s.flag}\` | \`${s.env}\` |`) ? [] : [`${s.key} not documented`]),
    ]);
    expect(missing).toEqual([]);
  });

  it("docs/operations.md's settings tables are what the schemas generate (else: pnpm docs:settings)", () => {
    const result = spawnSync(process.execPath, [repoPath("scripts/docs-settings.mjs"), "--check"], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("the old flag of a renamed setting is refused with its new name", () => {
    const result = spawnSync(process.execPath, [repoPath("apps/namenode/dist/main.js"), "--replication-interval-ms", "500"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("replicationIntervalMs was renamed monitorIntervalMs");
  });
});
