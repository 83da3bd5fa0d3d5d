import type { ConnectRouter } from "@connectrpc/connect";
import type { ChunkReceipts } from "@trainfs/common";
import { AdminService, ClientService, DataNodeProtocolService } from "@trainfs/proto";
import { adminProtocol } from "./admin-protocol.js";
import type { ChunkMap } from "./chunk-map.js";
import type { CorruptReplicas } from "./corrupt-replicas.js";
import { clientProtocol } from "./client-protocol.js";
import type { DataNodeManager } from "./datanode-manager.js";
import { dataNodeProtocol } from "./datanode-protocol.js";
import type { MetadataStore } from "./metadata-store.js";
import type { Namespace } from "./namespace.js";
import type { PendingReplications } from "./pending-replications.js";
import type { ReplicaVerifications } from "./replica-verifications.js";
import type { ReplicationMonitor } from "./replication-monitor.js";
import type { ReplicationQueue } from "./replication-queue.js";
import type { SafeMode } from "./safe-mode.js";
import type { Trash } from "./trash.js";
import type { UploadManager } from "./upload-manager.js";

/** Everything the RPC handlers work with. */
export interface NameNodeParts {
  store: MetadataStore;
  namespace: Namespace;
  chunkMap: ChunkMap;
  datanodes: DataNodeManager;
  uploads: UploadManager;
  trash: Trash;
  queue: ReplicationQueue;
  pending: PendingReplications;
  replication: ReplicationMonitor;
  corrupt: CorruptReplicas;
  safeMode: SafeMode;
  verifications: ReplicaVerifications;
  /** Checks the DataNodes' receipts that ConfirmFile carries. */
  receipts: ChunkReceipts;
  /** Signs chunk access tokens; "" for every chunk when the cluster has no secret. */
  chunkToken: { read(chunkId: string): string; write(chunkId: string, attempt: string, datanodeIds: readonly string[]): string };
  limits: { maxReplicationTasksPerHeartbeat: number; maxTrashPerHeartbeat: number; maxReplication: number };
  now: () => number;
}

/**
 * The NameNode's RPC edge, in three parts as in HDFS: the client protocol,
 * the DataNode protocol and the admin protocol. Each checks what arrives,
 * then hands it to the mechanisms.
 */
export function nameNodeRoutes(p: NameNodeParts): (router: ConnectRouter) => void {
  return (router) => {
    router.service(ClientService, clientProtocol(p));
    router.service(AdminService, adminProtocol(p));
    router.service(DataNodeProtocolService, dataNodeProtocol(p));
  };
}
