import type { ServiceImpl } from "@connectrpc/connect";
import type { DataNodeProtocolService } from "@trainfs/proto";
import { TrainfsError, safeNumber } from "@trainfs/common";
import type { NameNodeParts } from "./namenode-service.js";
import { eachOnItsOwn, location, required } from "./rpc-fields.js";

/**
 * What DataNodes call: registration, chunk report, heartbeat and commit (the
 * founding flows, docs/founding-flows.md).
 */
export function dataNodeProtocol(p: NameNodeParts): ServiceImpl<typeof DataNodeProtocolService> {
  const requireRegistered = (datanodeId: string) => {
    required(datanodeId, "datanode_id");
    if (!p.datanodes.isRegistered(datanodeId)) {
      throw new TrainfsError("failed_precondition", `DataNode ${datanodeId} is not registered; register first`);
    }
  };

  return {
    async registerDataNode(req) {
      required(req.datanodeId, "datanode_id");
      checkAddress(req.address);
      const clusterId = p.store.clusterId;
      if (req.clusterId && req.clusterId !== clusterId) {
        throw new TrainfsError(
          "failed_precondition",
          `DataNode ${req.datanodeId} belongs to cluster ${req.clusterId}, but this NameNode runs cluster ${clusterId}; refusing it so that its chunks are not taken for garbage`,
        );
      }
      await p.datanodes.register(
        req.datanodeId,
        req.address,
        safeNumber(req.capacityBytes, "capacity_bytes"),
        safeNumber(req.freeBytes, "free_bytes"),
      );
      return { heartbeatTimeoutMs: p.datanodes.heartbeatTimeoutMs, clusterId };
    },

    async chunkReport(req) {
      requireRegistered(req.datanodeId);
      const reported = req.chunks.map((c) => ({ chunkId: c.chunkId, length: safeNumber(c.length, "length"), checksum: c.checksum }));
      const nowMs = p.now();
      const result = await p.store.write(() => {
        p.safeMode.reportArrived(req.datanodeId, reported.map((c) => c.chunkId));
        const r = p.chunkMap.applyReport(req.datanodeId, reported, nowMs, p.datanodes.registeredAt(req.datanodeId));
        for (const chunkId of r.mismatchedChunkIds) p.corrupt.mark(chunkId, req.datanodeId, "its length or checksum differs from the record", nowMs);
        // Every chunk the node holds, not only the changed ones: a node back from
        // the dead (or known from before a NameNode restart) brings live copies
        // whose records never changed, and may push a chunk over its replication.
        for (const chunkId of new Set([...r.acceptedChunkIds, ...r.changed, ...r.mismatchedChunkIds])) p.replication.recheck(chunkId);
        if (p.safeMode.isOn) p.safeMode.defer(req.datanodeId, r.unknownChunkIds);
        else for (const chunkId of r.unknownChunkIds) p.trash.add(req.datanodeId, chunkId, nowMs);
        return r;
      });
      return { accepted: result.accepted, unknown: result.unknown, mismatched: result.mismatched };
    },

    async heartBeat(req) {
      required(req.datanodeId, "datanode_id");
      const known = p.datanodes.heartbeat(req.datanodeId, {
        capacityBytes: safeNumber(req.capacityBytes, "capacity_bytes"),
        freeBytes: safeNumber(req.freeBytes, "free_bytes"),
        usedBytes: safeNumber(req.usedBytes, "used_bytes"),
        chunkCount: req.chunkCount,
      });
      if (!known) return { reregister: true, trashChunkNames: [], replicationTasks: [], verifyChunks: [] };
      const nowMs = p.now();
      const work = await p.store.write(() => {
        p.trash.confirm(req.datanodeId, req.deletedChunkIds);
        p.replication.onFailed(req.datanodeId, req.failedReplicationChunkIds);
        if (p.safeMode.isOn) return { trash: [], tasks: [] };
        return {
          trash: p.trash.takeForHeartbeat(req.datanodeId, p.limits.maxTrashPerHeartbeat, nowMs),
          tasks: p.pending.takeForSource(req.datanodeId, p.limits.maxReplicationTasksPerHeartbeat, nowMs),
        };
      });
      const verify = p.verifications.takeFor(req.datanodeId);
      return {
        reregister: false,
        trashChunkNames: work.trash,
        verifyChunks: verify.map((v) => ({ chunkId: v.chunkId, length: BigInt(v.length), checksum: v.checksum })),
        replicationTasks: work.tasks.map((t) => ({
          chunkId: t.chunkId,
          targets: t.targetIds.map((id) => location(p.datanodes, id)),
          accessToken: p.chunkToken.write(t.chunkId, `replication-${t.issuedMs}`, t.targetIds),
        })),
      };
    },

    async commitChunk(req) {
      requireRegistered(req.datanodeId);
      const commitOne = async (c: { chunkId: string; length: bigint; checksum: number }, field: string) => {
        required(c.chunkId, `${field}.chunk_id`);
        const reported = { chunkId: c.chunkId, length: safeNumber(c.length, `${field}.length`), checksum: c.checksum };
        // Most reports arrive after the client's receipts recorded the same
        // replica at ConfirmFile: nothing to write, so no transaction.
        if (p.chunkMap.isRecorded(req.datanodeId, reported)) return;
        const nowMs = p.now();
        await p.store.write(() => {
          // A report that crossed the deletion of its copy (trimmed, or bad)
          // on the way must not bring the replica back.
          if (p.trash.has(req.datanodeId, c.chunkId)) return;
          p.safeMode.chunkCommitted(req.datanodeId, c.chunkId, () => p.chunkMap.commit(req.datanodeId, reported, nowMs));
          p.replication.onCommit(c.chunkId, req.datanodeId);
        });
      };
      if (req.chunks.length === 0) {
        if (!req.chunk) throw new TrainfsError("invalid_argument", "chunk or chunks is required");
        await commitOne(req.chunk, "chunk");
        return { results: [] };
      }
      // Each chunk in a transaction of its own, so one refusal rolls back only
      // itself; issued together, they share one durable LMDB commit.
      const outcomes = await eachOnItsOwn(req.chunks, [], (c, i) => commitOne(c, `chunks[${i}]`));
      return { results: outcomes.map(({ code, message }, i) => ({ chunkId: req.chunks[i]!.chunkId, code, message })) };
    },

    async reportCorruptChunks(req) {
      requireRegistered(req.datanodeId);
      const nowMs = p.now();
      await p.store.write(() => {
        req.chunks.forEach((bad, i) => {
          required(bad.chunkId, `chunks[${i}].chunk_id`);
          // A chunk deleted meanwhile has nothing left to repair.
          if (!p.store.chunks.doesExist(bad.chunkId)) return;
          p.corrupt.mark(bad.chunkId, req.datanodeId, bad.reason.slice(0, 500) || "reported bad", nowMs);
          p.replication.recheck(bad.chunkId);
        });
      });
      return {};
    },
  };
}

function checkAddress(address: string): void {
  let url: URL | undefined;
  try {
    url = new URL(address);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new TrainfsError("invalid_argument", `address ${JSON.stringify(address)} is not an http(s) base URL like http://10.0.0.7:9866`);
  }
}
