import { z } from "zod";
import { configFields, loadConfig, settingDefaults, type ConfigSources } from "@trainfs/common";
import type { PlacementPolicyName } from "./chunks/placement-policy.js";

const MiB = 1024 * 1024;

/**
 * Every NameNode setting: its bounds, its default and its help, declared once.
 * `--help`, the environment names and the table of docs/operations.md
 * (`pnpm docs:settings`) are generated from it.
 */
export const nameNodeConfigSchema = z
  .object({
    host: configFields.host().default("127.0.0.1").meta({ description: "address to listen on (`0.0.0.0` for all interfaces)" }),
    port: configFields.port().default(9870).meta({ description: "port to listen on; `0` picks a free one" }),
    dataDir: z.string().min(1).default(".trainfs/namenode").meta({ description: "directory for the metadata (LMDB)", placeholder: "<dir>" }),
    defaultReplication: z.coerce.number().int().min(1).max(16).default(3).meta({ description: "replicas per chunk when a client does not say" }),
    maxReplication: z.coerce.number().int().min(1).max(64).default(16).meta({ description: "highest replication a client may ask for" }),
    defaultChunkSize: configFields.size().default(64 * MiB).meta({ description: "chunk size when a client does not say, e.g. `64MiB`" }),
    minChunkSize: configFields.size().default(1024).meta({ description: "smallest chunk size a client may ask for" }),
    maxChunkSize: configFields.size().default(1024 * MiB).meta({ description: "largest chunk size a client may ask for" }),
    maxChunksPerFile: z.coerce.number().int().positive().default(1_000_000).meta({ description: "most chunks one file may have" }),
    minWriteReplicas: z.coerce.number().int().min(1).max(16).default(2).meta({
      description:
        "fewest live DataNodes a write's chain may have: with fewer live nodes than a file's replication, a write goes on with the nodes it has, down to this, and the missing copies are made later",
      details:
        "A put is acknowledged once every chunk is fsynced on every node of its chain (at least this many, or the file's replication if lower); the file keeps its target replication and shows as under-replicated until the replication monitor has copied it. Fewer live nodes than this: FailedPrecondition.",
    }),
    heartbeatTimeoutMs: configFields.milliseconds().default(10_000).meta({
      description: "a DataNode silent for longer is dead",
      details: "A dead node is not offered to readers or writers, and its chunks are copied elsewhere. DataNodes warn at registration when their `heartbeatIntervalMs` is not under a third of it.",
    }),
    uploadLeaseMs: configFields.milliseconds().default(10 * 60 * 1000).meta({
      description: "a write whose writer is silent for longer (no commit, AddChunk or RenewLease) is abandoned and its chunks trashed",
    }),
    uploadLeaseSoftMs: configFields.milliseconds().default(60_000).meta({
      description: "a write whose writer is silent for longer may be taken over by a new write to the same path (HDFS's soft limit; at most `uploadLeaseMs`)",
      details: "So that a put cut off with no NameNode to tell (a crash, a failover it did not survive) can be retried within a minute rather than after `uploadLeaseMs`. Writers renew their lease three times per this period.",
    }),
    monitorIntervalMs: configFields.milliseconds().default(1000).meta({
      description: "period of the NameNode's background round: safe mode check, dead DataNodes, expired upload leases, replication planning",
      details: "Formerly `replicationIntervalMs`.",
    }),
    replicationTimeoutMs: configFields.milliseconds().default(60_000).meta({ description: "a copy not finished within this is planned again" }),
    maxReplicationStreams: z.coerce.number().int().positive().default(4).meta({ description: "copies one DataNode takes part in at once, as source or target" }),
    maxReplicationTasksPerHeartbeat: z.coerce.number().int().positive().default(16).meta({ description: "copies handed to a DataNode per heartbeat" }),
    maxTrashPerHeartbeat: z.coerce.number().int().positive().default(1000).meta({ description: "chunk deletions handed to a DataNode per heartbeat" }),
    trashRedeliveryMs: configFields.milliseconds().default(60_000).meta({ description: "a deletion not confirmed within this is sent again" }),
    safeModeThreshold: z.coerce.number().min(0).max(1).default(0.999).meta({
      description: "share of complete files' chunks that must be reported before replication and trash start (leaving safe mode)",
      placeholder: "<fraction>",
    }),
    safeModeTimeoutMs: configFields.milliseconds().default(120_000).meta({ description: "leave safe mode after this even if reports are missing" }),
    placementPolicy: z.enum(["zone-aware", "available-space"] satisfies PlacementPolicyName[]).default("zone-aware").meta({
      description: "how replicas are placed",
      details:
        "`zone-aware` is HDFS's rack rule with zones (the DataNodes' `zone` setting): a chunk's replicas spread so that no zone holds all of them while two zones are alive (at most (replication − 1) / zones + 2 in one zone), the roomiest nodes first; with one zone (or none set) it behaves as `available-space`, which looks at free space alone.",
    }),
    balancerBandwidthBytesPerSecond: configFields.size().default(16 * MiB).meta({
      description: "bytes per second the balancer's copies may use together",
    }),
    balancerMaxMoves: z.coerce.number().int().positive().default(4).meta({ description: "balancer copies in flight at once" }),
    balancerThresholdPercent: z.coerce.number().min(1).max(50).default(10).meta({
      description: "how far (in percentage points) a DataNode's use may stray from the cluster's mean before the balancer moves chunks",
      details: "Used by `trainfs admin balance` when no threshold is given.",
      placeholder: "<percent>",
    }),
    corsOrigins: configFields.origins().default([]).meta({
      description: "web origins (`https://ops.example.com`, comma-separated, or `*`) whose pages may call the NameNode (CORS)",
      details: "Its own console is same-origin and needs none.",
    }),
    consoleDir: z.string().min(1).optional().meta({
      description: "directory of the web console's static files, served at `/`",
      placeholder: "<dir>",
      defaultText: "the built `@trainfs/console`",
    }),
    historyIntervalMs: configFields.milliseconds().default(10_000).meta({
      description: "step of the in-memory history the console charts (space, throughput, RPCs, replication health, heartbeat ages)",
    }),
    historyRetentionMs: configFields.milliseconds().default(60 * 60 * 1000).meta({
      description: "how far back that history reaches",
      details: "At most 10 000 samples are kept whatever the two settings say, so its memory stays small.",
    }),
    auditLog: z.string().min(1).optional().meta({
      description: "where the audit log goes: a file, `-` for stdout, or `off`",
      details: "One JSON line per namespace operation (who, from where, what, on which path, with what result), as HDFS's `hdfs-audit.log`; see [Audit log](#audit-log).",
      placeholder: "<file>",
      defaultText: "`<dataDir>/audit.log`",
    }),
    logLevel: configFields.logLevel().default("info").meta({ description: "what the log keeps" }),
    clusterSecret: configFields.secret().optional().meta({
      description: "shared with the DataNodes, 16 characters or more: authenticates them and signs chunk access tokens (prefer the environment or the config file: `ps` shows flags)",
      details: "Unset, anyone can register as a DataNode and DataNodes check no tokens.",
    }),
    apiTokens: configFields.apiTokens().optional().meta({
      description: "client tokens, `rw:<token>` or `ro:<token>` (16 characters or more), comma-separated (prefer the environment or the config file)",
      details: "`rw:<name>:<token>` names a token for the audit log (name: 1 to 64 of `[A-Za-z0-9._-]`); an unnamed one is logged as `rw-`/`ro-` and 8 hex digits of its SHA-256. A JSON array in the config file. Unset, clients need no token.",
    }),
    chunkTokenTtlMs: configFields.milliseconds().default(60 * 60 * 1000).meta({
      description: "how long a chunk access token given with PutFile, GetFile or a replication task stays valid",
      details: "Readers and writers renew expired ones themselves.",
    }),
    tlsCert: z.string().min(1).optional().meta({
      description: "PEM certificate chain: the port serves TLS only (with `tlsKey`)",
      details: "HTTP/2 and HTTP/1.1 by ALPN.",
      placeholder: "<file>",
    }),
    tlsKey: z.string().min(1).optional().meta({ description: "PEM private key of `tlsCert`", placeholder: "<file>" }),
    haEtcd: z.string().trim().optional().meta({
      description: "etcd client URLs, comma-separated: turns NameNode high availability on (unset: a single NameNode on its LMDB)",
      details: "Every NameNode of the cluster names the same etcd cluster and shares `clusterSecret` and `apiTokens`; see [High availability](#high-availability).",
      placeholder: "<url,...>",
    }),
    haEtcdCa: z.string().min(1).optional().meta({
      description: "PEM certificates to trust for `https://` etcd URLs (unset: the system's roots)",
      placeholder: "<file>",
    }),
    haEtcdCert: z.string().min(1).optional().meta({
      description: "PEM client certificate this NameNode shows etcd (`https://` URLs; with `haEtcdKey`), for an etcd started with `--client-cert-auth`",
      details: "With etcd's authentication on and no `haEtcdUser`, etcd takes the certificate's common name for the user.",
      placeholder: "<file>",
    }),
    haEtcdKey: z.string().min(1).optional().meta({ description: "PEM private key of `haEtcdCert`", placeholder: "<file>" }),
    haEtcdUser: z.string().min(1).optional().meta({
      description: "etcd user (etcd's `auth enable`) this NameNode acts as, with `haEtcdPassword`; it needs read-write on `/trainfs/<haClusterName>/`",
      placeholder: "<name>",
    }),
    haEtcdPassword: z.string().min(1).optional().meta({
      description: "password of `haEtcdUser` (prefer the environment or the config file: `ps` shows flags)",
      placeholder: "<password>",
    }),
    advertiseAddress: z.string().trim().min(1).optional().meta({
      description: "the URL clients and DataNodes reach this NameNode at, e.g. `http://10.0.0.5:9870`; required with `haEtcd`",
      placeholder: "<url>",
    }),
    haLeaseTtlSeconds: z.coerce.number().int().min(2).max(60).default(5).meta({
      description: "lease of the active NameNode in etcd: a silent active one is replaced after this, and a cut-off one stops accepting writes within it",
      placeholder: "<seconds>",
    }),
    haClusterName: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default("default").meta({
      description: "name of this cluster's key space in etcd (`/trainfs/<name>/`), so that clusters can share one etcd",
    }),
  })
  .meta({ renamed: { replicationIntervalMs: "monitorIntervalMs" } });

export type NameNodeConfig = z.infer<typeof nameNodeConfigSchema>;

/** The defaults, for the test kit, benchmarks and checks that must not repeat them. */
export const nameNodeDefaults: NameNodeConfig = Object.freeze(settingDefaults(nameNodeConfigSchema));

export const NAMENODE_ENV_PREFIX = "TRAINFS_NAMENODE_";

export function loadNameNodeConfig(sources: ConfigSources): NameNodeConfig {
  return loadConfig(nameNodeConfigSchema, NAMENODE_ENV_PREFIX, sources);
}
