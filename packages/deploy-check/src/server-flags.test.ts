import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { nameNodeConfigSchema } from "@trainfs/namenode";
import { dataNodeConfigSchema } from "@trainfs/datanode";
import { repoPath } from "./repo-files.js";

const roles = [
  { role: "namenode", keys: Object.keys(nameNodeConfigSchema.shape), section: ["### NameNode", "### DataNode"] },
  { role: "datanode", keys: Object.keys(dataNodeConfigSchema.shape), section: ["### DataNode", "### CLI"] },
] as const;

const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

describe("server settings", () => {
  it.each(roles)("every $role setting has the flag docs/operations.md gives it", ({ role, keys, section }) => {
    const help = execFileSync(process.execPath, [repoPath(`apps/${role}/dist/main.js`), "--help"], { encoding: "utf8" });
    const doc = readFileSync(repoPath("docs/operations.md"), "utf8");
    const table = doc.slice(doc.indexOf(section[0]), doc.indexOf(section[1]));
    expect(table.length).toBeGreaterThan(0);
    const missing = keys.flatMap((key) => {
      const flag = flagOf(key);
      return [...(help.includes(`${flag} `) ? [] : [`${flag} not accepted`]), ...(table.includes(`\`${flag}\``) ? [] : [`${flag} not documented`])];
    });
    expect(missing).toEqual([]);
  });
});
