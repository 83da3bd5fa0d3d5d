import { createHmac, timingSafeEqual } from "node:crypto";
import { deriveKey } from "./cluster-secret.js";
import { TrainfsError } from "./errors.js";

export type ChunkOperation = "read" | "write";

const OP_CODE: Record<ChunkOperation, string> = { read: "r", write: "w" };

/**
 * Chunk access tokens (HDFS's block tokens): the NameNode signs, for one chunk
 * and one operation, an expiry time; a DataNode checks the signature with the
 * key derived from the same cluster secret, so only a caller the NameNode
 * authorized can read or write a chunk, however it learnt the DataNode's
 * address. The token is `<op>.<expiry ms>.<HMAC-SHA256 in base64url>`.
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

  issue(chunkId: string, op: ChunkOperation): string {
    const expiresMs = this.now() + this.ttlMs;
    return `${OP_CODE[op]}.${expiresMs}.${this.sign(chunkId, OP_CODE[op], expiresMs)}`;
  }

  /** Throws permission_denied unless `token` allows `op` on `chunkId` now. */
  verify(chunkId: string, op: ChunkOperation, token: string): void {
    if (!token) throw new TrainfsError("permission_denied", `a chunk access token is required to ${op} chunk ${chunkId}`);
    const [code, expiry, mac, extra] = token.split(".");
    const expiresMs = Number(expiry);
    if (extra !== undefined || !code || !mac || !/^\d{1,16}$/.test(expiry ?? "")) {
      throw new TrainfsError("permission_denied", `malformed chunk access token for chunk ${chunkId}`);
    }
    const expected = Buffer.from(this.sign(chunkId, code, expiresMs), "base64url");
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
  }

  private sign(chunkId: string, code: string, expiresMs: number): string {
    return createHmac("sha256", this.key).update(`${chunkId}\n${code}\n${expiresMs}`).digest("base64url");
  }
}
