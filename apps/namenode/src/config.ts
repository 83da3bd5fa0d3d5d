import { z } from "zod";
import { configFields, loadConfig, type ConfigSources } from "@trainfs/common";

/** Every NameNode setting, its default, and its bounds. Documented in docs/operations.md. */
export const nameNodeConfigSchema = z.object({
  host: configFields.host().default("127.0.0.1"),
  port: configFields.port().default(9870),
  dataDir: z.string().min(1).default(".trainfs/namenode"),
  defaultReplication: z.coerce.number().int().min(1).max(16).default(3),
  maxReplication: z.coerce.number().int().min(1).max(64).default(16),
  defaultChunkSize: configFields.size().default(64 * 1024 * 1024),
  minChunkSize: configFields.size().default(1024),
  maxChunkSize: configFields.size().default(1024 * 1024 * 1024),
  maxChunksPerFile: z.coerce.number().int().positive().default(1_000_000),
  heartbeatTimeoutMs: configFields.milliseconds().default(10_000),
  uploadLeaseMs: configFields.milliseconds().default(10 * 60 * 1000),
  /** How often dead nodes are looked for and replication is planned. */
  replicationIntervalMs: configFields.milliseconds().default(1000),
  replicationTimeoutMs: configFields.milliseconds().default(60_000),
  maxReplicationStreams: z.coerce.number().int().positive().default(4),
  maxReplicationTasksPerHeartbeat: z.coerce.number().int().positive().default(16),
  maxTrashPerHeartbeat: z.coerce.number().int().positive().default(1000),
  trashRedeliveryMs: configFields.milliseconds().default(60_000),
  safeModeThreshold: z.coerce.number().min(0).max(1).default(0.999),
  safeModeTimeoutMs: configFields.milliseconds().default(120_000),
  placementPolicy: z.enum(["zone-aware", "available-space"]).default("zone-aware"),
  balancerBandwidthBytesPerSecond: configFields.size().default(16 * 1024 * 1024),
  balancerMaxMoves: z.coerce.number().int().positive().default(4),
  balancerThresholdPercent: z.coerce.number().min(1).max(50).default(10),
  /**
   * Web origins (scheme://host:port) whose pages may call the NameNode (CORS);
   * its own console is same-origin and needs none. "*" allows any.
   */
  corsOrigins: configFields.origins().default([]),
  /** Directory of the web console's static files, served at `/`; by default the built @trainfs/console. */
  consoleDir: z.string().min(1).optional(),
  logLevel: configFields.logLevel().default("info"),
  /** Shared with the DataNodes: authenticates them and signs chunk access tokens. Unset: no DataNode authentication. */
  clusterSecret: configFields.secret().optional(),
  /** Client API tokens (`rw:<token>`, `ro:<token>`). Unset: clients need no token. */
  apiTokens: configFields.apiTokens().optional(),
  /** How long a chunk access token given with PutFile, GetFile or a replication task stays valid. */
  chunkTokenTtlMs: configFields.milliseconds().default(60 * 60 * 1000),
  /** PEM certificate chain and key: serve TLS only. */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
});

export type NameNodeConfig = z.infer<typeof nameNodeConfigSchema>;

export const NAMENODE_ENV_PREFIX = "TRAINFS_NAMENODE_";

export function loadNameNodeConfig(sources: ConfigSources): NameNodeConfig {
  return loadConfig(nameNodeConfigSchema, NAMENODE_ENV_PREFIX, sources);
}
