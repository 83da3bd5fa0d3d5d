import { createHmac, timingSafeEqual } from "node:crypto";
import { deriveKey } from "./cluster-secret.js";
import { TrainfsError } from "@trainfs/core";

export type ChunkOperation = "read" | "write";

const OP_CODE: Record<ChunkOperation, string> = { read: "r", write: "w" };

/**
 * What a write token is bound to: one attempt at storing the chunk (an upload
 * id, or a replication task) and the DataNodes that may take part in it.
 */
export interface WriteScope {
  attempt: string;
  datanodeIds: readonly string[];
}

/** Characters of attempts and DataNode ids, so that neither can smuggle a separator into a token. */
const SCOPE_PART = /^[A-Za-z0-9_-]{0,128}$/;

/**
 * Chunk access tokens (HDFS's block tokens): the NameNode signs, for one chunk
 * and one operation, an expiry time; a DataNode checks the signature with the
 * key derived from the same cluster secret, so only a caller the NameNode
 * authorized can read or write a chunk, however it learnt the DataNode's
 * address. A write token is also bound to one attempt and to the DataNodes
 * of its chain: no other node accepts it, and once every node of the chain
 * holds the chunk finalized (the file is confirmed) nothing accepts it at all.
 * The token is `<op>.<expiry ms>.<attempt>.<datanode ids, comma-separated>.<HMAC-SHA256 in base64url>`;
 * a read token has an empty attempt and node list.
 */
export class ChunkTokens {
  private readonly key: Buffer;

  constructor(
    clusterSecret: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = deriveKey(clusterSecret, "chunk-token");
  }

  issue(chunkId: string, op: "read"): string;
  issue(chunkId: string, op: "write", scope: WriteScope): string;
  issue(chunkId: string, op: ChunkOperation, scope?: WriteScope): string {
    const attempt = scope?.attempt ?? "";
    const nodes = (scope?.datanodeIds ?? []).join(",");
    if (!SCOPE_PART.test(attempt) || !(scope?.datanodeIds ?? []).every((id) => SCOPE_PART.test(id) && id !== "")) {
      throw new TrainfsError("internal", `cannot sign a chunk token for attempt ${JSON.stringify(attempt)} and nodes ${JSON.stringify(nodes)}`);
    }
    const expiresMs = this.now() + this.ttlMs;
    const code = OP_CODE[op];
    return `${code}.${expiresMs}.${attempt}.${nodes}.${this.sign(chunkId, code, expiresMs, attempt, nodes)}`;
  }

  /**
   * Throws permission_denied unless `token` allows `op` on `chunkId` now, on
   * the DataNode `datanodeId` (a write token names the nodes it is for).
   */
  verify(chunkId: string, op: ChunkOperation, token: string, datanodeId?: string): void {
    if (!token) throw new TrainfsError("permission_denied", `a chunk access token is required to ${op} chunk ${chunkId}`);
    const parts = token.split(".");
    const [code, expiry, attempt, nodes, mac] = parts;
    const expiresMs = Number(expiry);
    if (parts.length !== 5 || !code || !mac || !/^\d{1,16}$/.test(expiry ?? "") || attempt === undefined || nodes === undefined) {
      throw new TrainfsError("permission_denied", `malformed chunk access token for chunk ${chunkId}`);
    }
    const expected = Buffer.from(this.sign(chunkId, code, expiresMs, attempt, nodes), "base64url");
    const given = Buffer.from(mac, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new TrainfsError("permission_denied", `invalid chunk access token for chunk ${chunkId} (not signed with this cluster's secret, or for another chunk)`);
    }
    if (code !== OP_CODE[op]) {
      throw new TrainfsError("permission_denied", `the chunk access token for chunk ${chunkId} does not allow ${op}`);
    }
    if (expiresMs <= this.now()) {
      throw new TrainfsError("permission_denied", `the chunk access token for chunk ${chunkId} expired ${this.now() - expiresMs} ms ago; ask the NameNode again`);
    }
    if (op === "write" && (datanodeId === undefined || !nodes.split(",").includes(datanodeId))) {
      throw new TrainfsError("permission_denied", `the write token for chunk ${chunkId} is for other DataNodes than ${datanodeId ?? "this one"}`);
    }
  }

  private sign(chunkId: string, code: string, expiresMs: number, attempt: string, nodes: string): string {
    return createHmac("sha256", this.key).update(`${chunkId}\n${code}\n${expiresMs}\n${attempt}\n${nodes}`).digest("base64url");
  }
}
