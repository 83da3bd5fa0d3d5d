import { createHmac, timingSafeEqual } from "node:crypto";
import { deriveKey } from "./cluster-secret.js";

/** What a receipt vouches for: this DataNode holds these exact bytes. */
export interface ReceiptSubject {
  chunkId: string;
  length: number;
  checksum: number;
  datanodeId: string;
}

/**
 * Chunk receipts: a DataNode signs, for a chunk it has durably stored, the
 * chunk's id, length and checksum and its own id; the NameNode checks the
 * signature at ConfirmFile and records the replica, so the client carries
 * the news instead of each DataNode committing before the chain answers.
 * The key is derived from the cluster secret for this purpose alone. Without
 * a secret nothing is signed and every receipt is taken at its word, as
 * every DataNode call is in such a cluster.
 */
export class ChunkReceipts {
  private readonly key: Buffer | undefined;

  constructor(clusterSecret: string | undefined) {
    this.key = clusterSecret ? deriveKey(clusterSecret, "chunk-receipt") : undefined;
  }

  sign(subject: ReceiptSubject): Uint8Array {
    return this.key ? this.mac(this.key, subject) : new Uint8Array(0);
  }

  verify(subject: ReceiptSubject, signature: Uint8Array): boolean {
    if (!this.key) return true;
    const expected = this.mac(this.key, subject);
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }

  private mac(key: Buffer, s: ReceiptSubject): Buffer {
    return createHmac("sha256", key).update(`${s.chunkId}\n${s.length}\n${s.checksum >>> 0}\n${s.datanodeId}`).digest();
  }
}
