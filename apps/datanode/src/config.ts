import { z } from "zod";
import { configFields, envName, flagName, loadConfig, settingDefaults, type ConfigSources, type Logger } from "@trainfs/common";
import { DEFAULT_PACKED_CHUNK_MAX_BYTES, DEFAULT_SYNC_BEHIND_BYTES } from "./chunk-store.js";
import { DEFAULT_VOLUME_SETTINGS } from "./volumes/volume-store.js";

/**
 * Every DataNode setting: its bounds, its default and its help, declared once.
 * `--help`, the environment names and the table of docs/operations.md
 * (`pnpm docs:settings`) are generated from it.
 */
export const dataNodeConfigSchema = z.object({
  host: configFields.host().default("127.0.0.1").meta({ description: "address to listen on (`0.0.0.0` for all interfaces)" }),
  port: configFields.port().default(9866).meta({ description: "port to listen on; `0` picks a free one" }),
  dataDir: z.string().min(1).default(".trainfs/datanode").meta({ description: "directory for chunk files and the node's id", placeholder: "<dir>" }),
  namenode: configFields.urls().default(["http://127.0.0.1:9870"]).meta({ description: "the NameNode's address; with high availability, every NameNode, separated by commas (the node reports to each, and takes work only from the active one)" }),
  advertiseAddress: configFields.url().optional().meta({
    description: "the address clients and other DataNodes reach this node at",
    details: "Set it when listening on `0.0.0.0` or behind NAT.",
    defaultText: "`http://<host>:<port>`",
  }),
  capacity: configFields.size().optional().meta({ description: "offer at most this much space, e.g. `100GiB`", defaultText: "the disk's" }),
  zone: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9._-]*$/, "a zone is letters, digits, `.`, `_` and `-`")
    .default("")
    .meta({
      description: "the failure domain (rack, room, availability zone) this node sits in, up to 64 characters of `[A-Za-z0-9._-]`",
      details: "The NameNode's `zone-aware` placement spreads a chunk's replicas over zones; nodes without one count as one zone together.",
      placeholder: "<name>",
    }),
  heartbeatIntervalMs: configFields.milliseconds().default(3000).meta({
    description: "time between heartbeats",
    details: "Keep it under a third of the NameNode's `heartbeatTimeoutMs`; the node warns at registration when it is not.",
  }),
  maxReplicationStreams: z.coerce.number().int().positive().default(4).meta({ description: "replica copies this node sends at once" }),
  syncBehindWrites: configFields.size({ allowZero: true }).default(DEFAULT_SYNC_BEHIND_BYTES).meta({
    description: "every this many bytes of a chunk being received, start flushing it to disk in the background; `0` leaves all to the chunk's final fsync",
    details:
      "As HDFS's `dfs.datanode.sync.behind.writes`: the disk works while the rest streams in. The acknowledgement still waits for the final fsync either way.",
  }),
  packedChunkMaxBytes: configFields.size({ allowZero: true }).default(DEFAULT_PACKED_CHUNK_MAX_BYTES).meta({
    description: "chunks of at most this size are packed into append-only volume files, many made durable by one fsync; `0` stores every chunk as a plain file",
    details:
      "Larger chunks are plain files. Chunks already packed stay readable whatever the setting. A packed chunk is still acknowledged only after the fsync that covers its record.",
  }),
  volumeMaxBytes: configFields.size().default(DEFAULT_VOLUME_SETTINGS.volumeMaxBytes).meta({
    description: "a volume of packed chunks this large is sealed and a new one started",
  }),
  compactionDeadRatio: z.coerce.number().gt(0).max(1).default(DEFAULT_VOLUME_SETTINGS.compactDeadRatio).meta({
    description: "a volume whose deleted records take at least this share of it is rewritten without them (compaction)",
  }),
  compactionBytesPerSecond: configFields.size().default(DEFAULT_VOLUME_SETTINGS.compactBytesPerSecond).meta({
    description: "compaction copies live records at most this fast, so it never crowds out clients",
  }),
  scrubBytesPerSecond: configFields.size().default(16 * 1024 * 1024).meta({ description: "the background scrubber reads at most this fast" }),
  scrubPeriodMs: configFields.milliseconds().default(14 * 24 * 3600 * 1000).meta({ description: "the scrubber verifies every chunk once per period" }),
  partUploadTimeoutMs: configFields.milliseconds().default(60_000).meta({
    description: "a browser's chunk upload (WriteChunkPart session) with no part for this long is abandoned and its temporary file removed",
  }),
  maxPartUploads: z.coerce.number().int().positive().default(256).meta({ description: "browser chunk uploads open at once; more get ResourceExhausted" }),
  corsOrigins: configFields.origins().default([]).meta({
    description: "comma-separated web origins allowed to call this node (CORS), besides the NameNode's own",
    details:
      "The NameNode's origin is always allowed (as `127.0.0.1` and `localhost` when the NameNode is on loopback) so that its console can upload and download; `*` allows any.",
  }),
  logLevel: configFields.logLevel().default("info").meta({ description: "what the log keeps" }),
  clusterSecret: configFields.secret().optional().meta({
    description: "the NameNode's `clusterSecret` (prefer the environment: `ps` shows flags)",
    details: "With it the node authenticates to the NameNode and refuses any chunk read or write without a valid access token.",
  }),
  tlsCert: z.string().min(1).optional().meta({
    description: "PEM certificate chain: serve TLS only and advertise `https` (with `tlsKey`)",
    placeholder: "<file>",
  }),
  tlsKey: z.string().min(1).optional().meta({ description: "PEM private key of `tlsCert`", placeholder: "<file>" }),
  tlsCaFile: z.string().min(1).optional().meta({
    description: "PEM certificates to trust for the NameNode's and other DataNodes' `https` addresses",
    placeholder: "<file>",
    defaultText: "system CAs",
  }),
});

export type DataNodeConfig = z.infer<typeof dataNodeConfigSchema>;

/** The defaults, for the test kit, benchmarks and checks that must not repeat them. */
export const dataNodeDefaults: DataNodeConfig = Object.freeze(settingDefaults(dataNodeConfigSchema));

export const DATANODE_ENV_PREFIX = "TRAINFS_DATANODE_";

export function loadDataNodeConfig(sources: ConfigSources): DataNodeConfig {
  return loadConfig(dataNodeConfigSchema, DATANODE_ENV_PREFIX, sources);
}

/**
 * A heartbeat interval that is not well under the NameNode's timeout lets one
 * late or lost heartbeat declare the node dead and start copying its chunks.
 * Returns the warning to log, or undefined when the interval is under a third
 * of the timeout (or the NameNode gave none).
 */
export function heartbeatIntervalWarning(intervalMs: number, timeoutMs: number): string | undefined {
  if (!(timeoutMs > 0) || intervalMs * 3 < timeoutMs) return undefined;
  const setting = `heartbeatIntervalMs (${flagName("heartbeatIntervalMs")}, ${envName(DATANODE_ENV_PREFIX, "heartbeatIntervalMs")})`;
  return `heartbeat interval ${intervalMs} ms is not under a third of the NameNode's heartbeat timeout ${timeoutMs} ms: a late heartbeat may get this node declared dead; lower ${setting} below ${Math.ceil(timeoutMs / 3)} ms, or raise the NameNode's heartbeatTimeoutMs`;
}

/** Logs heartbeatIntervalWarning's warning, if any, once the NameNode has told its timeout. */
export function checkHeartbeatInterval(logger: Logger, intervalMs: number, timeoutMs: number): void {
  const warning = heartbeatIntervalWarning(intervalMs, timeoutMs);
  if (warning) logger.warn({ heartbeatIntervalMs: intervalMs, heartbeatTimeoutMs: timeoutMs }, warning);
}
