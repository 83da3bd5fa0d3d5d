import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoPath } from "./repo-files.js";
import { defaultClaims, deployedSettingProblems, unknownConfigEnv } from "./config-env.js";

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Variable names set by `KEY=value` lines (env files) or `Environment=KEY=value` lines (units). */
function variables(text: string): string[] {
  return [...text.matchAll(/^(?:Environment=)?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
}

describe.each(["namenode", "datanode"] as const)("deploy/systemd for the %s", (role) => {
  const unit = readFileSync(repoPath("deploy/systemd", `trainfs-${role}.service`), "utf8");
  const envFile = readFileSync(repoPath("deploy/systemd", `${role}.env.example`), "utf8");

  it("runs the deployed app as the trainfs user with its settings from an env file", () => {
    expect(unit).toMatch(new RegExp(`^ExecStart=/usr/bin/env node /opt/trainfs/${role}/dist/main\\.js$`, "m"));
    expect(unit).toMatch(/^User=trainfs$/m);
    expect(unit).toMatch(new RegExp(`^EnvironmentFile=/etc/trainfs/${role}\\.env$`, "m"));
    expect(unit).toMatch(new RegExp(`^StateDirectory=trainfs/${role}$`, "m"));
    expect(unit).toMatch(new RegExp(`^Environment=TRAINFS_${role.toUpperCase()}_DATA_DIR=/var/lib/trainfs/${role}$`, "m"));
  });

  it("sets only environment variables the process reads", () => {
    const names = [...variables(unit), ...variables(envFile)];
    expect(names.length).toBeGreaterThan(3);
    expect(unknownConfigEnv(role, names)).toEqual([]);
    expect(names).toContain(`TRAINFS_${role.toUpperCase()}_CLUSTER_SECRET`);
  });

  it("sets values the process accepts, examples included, and defaults it claims are the schema's defaults", () => {
    const claims = new Set([...defaultClaims(unit), ...defaultClaims(envFile)]);
    // Commented-out lines are examples to copy: they must be right too.
    const settings = [...`${unit}\n${envFile}`.matchAll(/^(?:#\s*)?(?:Environment=)?(TRAINFS_[A-Z0-9_]+)=(.*)$/gm)].map((m) => ({
      name: m[1]!,
      value: m[2]!,
      claimsDefault: claims.has(m[1]!),
    }));
    expect(settings.length).toBeGreaterThan(3);
    expect(deployedSettingProblems(role, settings)).toEqual([]);
  });

  it("is a unit systemd accepts (systemd-analyze verify, where installed)", () => {
    if (!hasSystemdAnalyze()) {
      // Without systemd the unit's syntax is still held to its sections.
      expect(unit).toMatch(/^\[Unit\][\s\S]*^\[Service\][\s\S]*^\[Install\]/m);
      return;
    }
    // It reports unknown keys and bad values on stderr and still exits 0.
    const result = spawnSync("systemd-analyze", ["verify", "--man=no", repoPath("deploy/systemd", `trainfs-${role}.service`)], { encoding: "utf8" });
    expect(result.stderr + result.stdout).toBe("");
    expect(result.status).toBe(0);
  });
});
