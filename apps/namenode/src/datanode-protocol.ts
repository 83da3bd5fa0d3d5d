import type { ServiceImpl } from "@connectrpc/connect";
import type { DataNodeProtocolService } from "@trainfs/proto";
import { TrainfsError, safeNumber } from "@trainfs/common";
import type { NameNodeFacades } from "./namenode-facades.js";
import { eachOnItsOwn, location, required } from "./rpc-fields.js";

/**
 * What DataNodes call (HDFS's DatanodeProtocol): registration, chunk report,
 * heartbeat, commit and their own corrupt replicas (the founding flows,
 * docs/founding-flows.md).
 */
export function dataNodeProtocol(p: NameNodeFacades): ServiceImpl<typeof DataNodeProtocolService> {
  const digest = (c: { chunkId: string; length: bigint; checksum: number }, field: string) => {
    required(c.chunkId, `${field}.chunk_id`);
    return { chunkId: c.chunkId, length: safeNumber(c.length, `${field}.length`), checksum: c.checksum };
  };

  return {
    async registerDataNode(req) {
      required(req.datanodeId, "datanode_id");
      // A new standby has its own cluster id until its first snapshot: a DataNode must not learn that one.
      if (!p.ha.inSync()) throw new TrainfsError("unavailable", "this NameNode is a standby still copying the cluster's metadata; register again shortly");
      return p.cluster.register(
        {
        datanodeId: req.datanodeId,
        address: req.address,
        capacityBytes: safeNumber(req.capacityBytes, "capacity_bytes"),
        freeBytes: safeNumber(req.freeBytes, "free_bytes"),
        clusterId: req.clusterId,
        zone: req.zone,
        diskId: req.diskId.slice(0, 64),
        },
        !p.ha.isActive(),
      );
    },

    async chunkReport(req) {
      required(req.datanodeId, "datanode_id");
      // An HA standby takes the replica map from the active one's log; reports change nothing here.
      if (!p.ha.isActive()) return { accepted: req.chunks.length, unknown: 0, mismatched: 0 };
      return p.chunks.processReport(req.datanodeId, req.chunks.map((c, i) => digest(c, `chunks[${i}]`)));
    },

    async heartBeat(req) {
      required(req.datanodeId, "datanode_id");
      const space = {
        capacityBytes: safeNumber(req.capacityBytes, "capacity_bytes"),
        freeBytes: safeNumber(req.freeBytes, "free_bytes"),
        usedBytes: safeNumber(req.usedBytes, "used_bytes"),
        chunkCount: req.chunkCount,
        diskId: req.diskId.slice(0, 64),
        bytesReadTotal: safeNumber(req.bytesReadTotal, "bytes_read_total"),
        bytesWrittenTotal: safeNumber(req.bytesWrittenTotal, "bytes_written_total"),
        volumeDeadBytes: safeNumber(req.volumeDeadBytes, "volume_dead_bytes"),
        compactionReclaimedBytesTotal: safeNumber(req.compactionReclaimedBytesTotal, "compaction_reclaimed_bytes_total"),
      };
      if (!p.ha.isActive()) return p.cluster.standbyHeartbeat(req.datanodeId, space) === "reregister" ? { reregister: true } : { haRole: "standby" };
      const work = await p.cluster.heartbeat(req.datanodeId, space, req.deletedChunkIds, req.failedReplicationChunkIds);
      if (work === "reregister") return { reregister: true };
      return {
        haRole: p.ha.local().role,
        trashChunkNames: work.trash,
        replicationTasks: work.copies.map((t) => ({
          chunkId: t.chunkId,
          targets: t.targetIds.map((id) => location(p.datanodes, id)),
          accessToken: p.tokens.write(t.chunkId, `copy-${t.issuedMs}`, t.targetIds),
        })),
        verifyChunks: work.verify.map((v) => ({ chunkId: v.chunkId, length: BigInt(v.length), checksum: v.checksum })),
      };
    },

    async commitChunk(req) {
      required(req.datanodeId, "datanode_id");
      // A standby learns commits from the active one's log.
      if (!p.ha.isActive()) return { results: req.chunks.map((c) => ({ chunkId: c.chunkId, code: 0, message: "" })) };
      if (req.chunks.length === 0) {
        if (!req.chunk) throw new TrainfsError("invalid_argument", "chunk or chunks is required");
        await p.chunks.commit(req.datanodeId, digest(req.chunk, "chunk"));
        return { results: [] };
      }
      // Each chunk in a transaction of its own, so one refusal rolls back only
      // itself; issued together, they share one durable LMDB commit.
      const outcomes = await eachOnItsOwn(req.chunks, [], (c, i) => p.chunks.commit(req.datanodeId, digest(c, `chunks[${i}]`)));
      return { results: outcomes.map(({ code, message }, i) => ({ chunkId: req.chunks[i]!.chunkId, code, message })) };
    },

    async reportCorruptChunks(req) {
      required(req.datanodeId, "datanode_id");
      if (!p.ha.isActive()) return {};
      const bad = req.chunks.map((c, i) => {
        required(c.chunkId, `chunks[${i}].chunk_id`);
        return { chunkId: c.chunkId, reason: c.reason };
      });
      await p.chunks.markCorrupt(req.datanodeId, bad);
      return {};
    },
  };
}
