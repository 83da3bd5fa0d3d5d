import { z } from "zod";
import { configFields, loadConfig, type ConfigSources } from "@trainfs/common";
import { DEFAULT_SYNC_BEHIND_BYTES } from "./chunk-store.js";

/** Every DataNode setting, its default, and its bounds. Documented in docs/operations.md. */
export const dataNodeConfigSchema = z.object({
  host: configFields.host().default("127.0.0.1"),
  port: configFields.port().default(9866),
  dataDir: z.string().min(1).default(".trainfs/datanode"),
  namenode: configFields.url().default("http://127.0.0.1:9870"),
  /** Base URL others reach this node at; defaults to http://<host>:<port>. */
  advertiseAddress: configFields.url().optional(),
  /** Caps the space this node offers, below what its disk has. */
  capacity: configFields.size().optional(),
  heartbeatIntervalMs: configFields.milliseconds().default(3000),
  /** Replica copies this node sends at once. */
  maxReplicationStreams: z.coerce.number().int().positive().default(4),
  /** Every this many bytes of a chunk being received start going to disk in the background; 0 leaves all to the final fsync. */
  syncBehindWrites: configFields.size({ allowZero: true }).default(DEFAULT_SYNC_BEHIND_BYTES),
  /** The background scrubber re-reads every chunk once per period, at most this fast. */
  scrubBytesPerSecond: configFields.size().default(16 * 1024 * 1024),
  scrubPeriodMs: configFields.milliseconds().default(14 * 24 * 3600 * 1000),
  /** A part upload (WriteChunkPart) with no part for this long is abandoned and its temporary file removed. */
  partUploadTimeoutMs: configFields.milliseconds().default(60_000),
  /** Part uploads open at once; more are refused with ResourceExhausted. */
  maxPartUploads: z.coerce.number().int().positive().default(256),
  /**
   * Web origins (scheme://host:port) whose pages may call this node (CORS),
   * besides the NameNode's own origin, which is always allowed so that its
   * console can upload and download; "*" allows any.
   */
  corsOrigins: configFields.origins().default([]),
  logLevel: configFields.logLevel().default("info"),
  /** The NameNode's cluster secret: presented to it, and used to check chunk access tokens. */
  clusterSecret: configFields.secret().optional(),
  /** PEM certificate chain and key: serve TLS only (the advertised address becomes https). */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** PEM certificates to trust for the NameNode's and other DataNodes' https addresses. */
  tlsCaFile: z.string().min(1).optional(),
});

export type DataNodeConfig = z.infer<typeof dataNodeConfigSchema>;

export const DATANODE_ENV_PREFIX = "TRAINFS_DATANODE_";

export function loadDataNodeConfig(sources: ConfigSources): DataNodeConfig {
  return loadConfig(dataNodeConfigSchema, DATANODE_ENV_PREFIX, sources);
}
