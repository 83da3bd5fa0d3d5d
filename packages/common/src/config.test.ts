import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { configFields, envName, loadConfig } from "./config.js";

const schema = z.object({
  port: configFields.port().default(9870),
  dataDir: z.string().default("data"),
  chunkSize: configFields.size().default(64 * 1024 * 1024),
  flushEvery: configFields.size({ allowZero: true }).default(8),
  heartbeatTimeoutMs: configFields.milliseconds().default(10_000),
});

function tempFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "trainfs-config-")), "config.json");
  writeFileSync(path, content);
  return path;
}

describe("loadConfig", () => {
  it("uses the defaults with no config at all", () => {
    expect(loadConfig(schema, "T_", {})).toEqual({ port: 9870, dataDir: "data", chunkSize: 64 * 1024 * 1024, flushEvery: 8, heartbeatTimeoutMs: 10_000 });
  });

  it("layers file < environment < flags", () => {
    const file = tempFile(JSON.stringify({ port: 1, dataDir: "from-file", chunkSize: "1MiB" }));
    const config = loadConfig(schema, "T_", {
      file,
      env: { T_PORT: "2", T_DATA_DIR: "from-env" },
      flags: { port: "3" },
    });
    expect(config).toMatchObject({ port: 3, dataDir: "from-env", chunkSize: 1024 * 1024 });
  });

  it("finds the config file through the environment", () => {
    const file = tempFile(JSON.stringify({ dataDir: "via-env-file" }));
    expect(loadConfig(schema, "T_", { env: { T_CONFIG: file } }).dataDir).toBe("via-env-file");
  });

  it("names the bad key and where it came from", () => {
    expect(() => loadConfig(schema, "T_", { env: { T_PORT: "eighty" } })).toThrow(/port: .*environment variable T_PORT/s);
    expect(() => loadConfig(schema, "T_", { flags: { heartbeatTimeoutMs: "-5" } })).toThrow(/heartbeatTimeoutMs: .*flag --heartbeat-timeout-ms/s);
    expect(() => loadConfig(schema, "T_", { flags: { chunkSize: "12 parsecs" } })).toThrow(/chunkSize: invalid size/);
    // A size is positive unless zero means "off" for that key.
    expect(() => loadConfig(schema, "T_", { flags: { chunkSize: "0" } })).toThrow(/chunkSize: /);
    expect(loadConfig(schema, "T_", { env: { T_FLUSH_EVERY: "0" } }).flushEvery).toBe(0);
    expect(() => loadConfig(schema, "T_", { env: { T_FLUSH_EVERY: "-1" } })).toThrow(/flushEvery: /);
  });

  it("rejects unknown keys and unreadable files", () => {
    expect(() => loadConfig(schema, "T_", { file: tempFile(JSON.stringify({ prot: 1 })) })).toThrow(/prot/);
    expect(() => loadConfig(schema, "T_", { file: tempFile("{not json") })).toThrow(/not valid JSON/);
    expect(() => loadConfig(schema, "T_", { file: "/nonexistent/trainfs.json" })).toThrow(/cannot read config file/);
  });

  it("refuses a renamed key from any source, naming its new name", () => {
    const renamed = z.object({ monitorIntervalMs: configFields.milliseconds().default(1000) }).meta({ renamed: { replicationIntervalMs: "monitorIntervalMs" } });
    const message = (sources: Parameters<typeof loadConfig>[2]) => {
      try {
        loadConfig(renamed, "T_", sources);
      } catch (err) {
        return (err as Error).message;
      }
      return "no error";
    };
    expect(message({ file: tempFile(JSON.stringify({ replicationIntervalMs: 50 })) })).toMatch(
      /replicationIntervalMs was renamed monitorIntervalMs \(--monitor-interval-ms, T_MONITOR_INTERVAL_MS\) \(from config file /,
    );
    expect(message({ env: { T_REPLICATION_INTERVAL_MS: "50" } })).toMatch(/replicationIntervalMs was renamed monitorIntervalMs .*environment variable T_REPLICATION_INTERVAL_MS/);
    expect(message({ flags: { replicationIntervalMs: "50" } })).toMatch(/replicationIntervalMs was renamed monitorIntervalMs .*flag --replication-interval-ms/);
    // Only the rename is reported, not also an unknown key.
    expect(message({ flags: { replicationIntervalMs: "50" } })).not.toMatch(/Unrecognized/);
    expect(loadConfig(renamed, "T_", { env: { T_MONITOR_INTERVAL_MS: "50" } }).monitorIntervalMs).toBe(50);
  });

  it("derives environment names from keys", () => {
    expect(envName("TRAINFS_DATANODE_", "heartbeatIntervalMs")).toBe("TRAINFS_DATANODE_HEARTBEAT_INTERVAL_MS");
  });

  it("parses API tokens and the cluster secret, refusing weak or malformed ones", () => {
    const security = z.object({ apiTokens: configFields.apiTokens().optional(), clusterSecret: configFields.secret().optional() });
    const env = { T_API_TOKENS: "rw:aaaaaaaaaaaaaaaaaaaa, ro:bbbbbbbbbbbbbbbbbbbb", T_CLUSTER_SECRET: "s".repeat(16) };
    expect(loadConfig(security, "T_", { env }).apiTokens).toEqual([
      { access: "read-write", token: "aaaaaaaaaaaaaaaaaaaa" },
      { access: "read-only", token: "bbbbbbbbbbbbbbbbbbbb" },
    ]);
    expect(() => loadConfig(security, "T_", { env: { T_API_TOKENS: "admin:aaaaaaaaaaaaaaaaaaaa" } })).toThrow(/apiTokens.*rw:<token>/s);
    expect(() => loadConfig(security, "T_", { env: { T_API_TOKENS: "rw:short" } })).toThrow(/at least 16 characters/);
    // A name for the audit log: rw:<name>:<token>; the token must still be whole.
    expect(loadConfig(security, "T_", { env: { T_API_TOKENS: "rw:alice:aaaaaaaaaaaaaaaaaaaa,ro:ci.bot-1:bbbbbbbbbbbbbbbbbbbb" } }).apiTokens).toEqual([
      { access: "read-write", name: "alice", token: "aaaaaaaaaaaaaaaaaaaa" },
      { access: "read-only", name: "ci.bot-1", token: "bbbbbbbbbbbbbbbbbbbb" },
    ]);
    expect(() => loadConfig(security, "T_", { env: { T_API_TOKENS: "rw:alice:short" } })).toThrow(/at least 16 characters/);
    expect(() => loadConfig(security, "T_", { env: { T_CLUSTER_SECRET: "short" } })).toThrow(/clusterSecret: must be at least 16/);
  });
});
