import { create } from "@bufbuild/protobuf";
import { DataNodeLocationSchema, FileInfoSchema, FileType, type DataNodeLocation, type FileInfo } from "@trainfs/proto";
import { TrainfsError, requestIdFrom, toConnectError, withRequestId } from "@trainfs/common";
import type { DataNodeManager } from "./datanode-manager.js";
import type { InodeRecord } from "./metadata-store.js";

/** Small conversions and checks shared by the protocol handlers. */
export function required(value: string, field: string): void {
  if (!value) throw new TrainfsError("invalid_argument", `${field} is required`);
}

/** Items in one batched call (PutFiles, ConfirmFiles, CommitChunk's `chunks`) at most. */
export const MAX_BATCH = 1000;

/**
 * Runs every item of a batched call on its own (each in its own transaction;
 * issued together, they share LMDB's durable commit) and gives each its
 * outcome: code 0 and the answer, or the refusal's Connect code and message.
 * An item with a request id of its own is served (and logged) under it.
 */
export async function eachOnItsOwn<Req, Res>(
  items: readonly Req[],
  requestIds: readonly string[],
  one: (item: Req, i: number) => Promise<Res>,
): Promise<Array<{ code: number; message: string; answer?: Res }>> {
  if (items.length > MAX_BATCH) throw new TrainfsError("invalid_argument", `a batch has at most ${MAX_BATCH} items, not ${items.length}`);
  const settled = await Promise.allSettled(
    items.map((item, i) => (requestIds[i] ? withRequestId(requestIdFrom(requestIds[i]), () => one(item, i)) : one(item, i))),
  );
  return settled.map((s) => {
    if (s.status === "fulfilled") return { code: 0, message: "", answer: s.value };
    const err = toConnectError(s.reason);
    return { code: err.code, message: err.rawMessage };
  });
}

/** The handler of a batched call (PutFiles, GetFiles, ...) from its single call's: each item's outcome as `code`, `message` and `file`. */
export function batched<Req, Res>(one: (item: Req) => Promise<Res>) {
  return async (req: { files: Req[]; requestIds: string[] }) => ({
    results: (await eachOnItsOwn(req.files, req.requestIds, one)).map(({ code, message, answer }) => ({ code, message, file: answer })),
  });
}

export function location(datanodes: DataNodeManager, datanodeId: string): DataNodeLocation {
  return create(DataNodeLocationSchema, { datanodeId, address: datanodes.address(datanodeId) });
}

export function fileInfo(path: string, inode: InodeRecord): FileInfo {
  return create(FileInfoSchema, {
    path,
    type: inode.type === "dir" ? FileType.DIRECTORY : FileType.FILE,
    size: BigInt(inode.size),
    replication: inode.replication,
    chunkSize: BigInt(inode.chunkSize),
    chunkCount: inode.chunkIds.length,
    modificationTimeMs: BigInt(inode.mtimeMs),
    attributes: inode.attributes ?? {},
  });
}
