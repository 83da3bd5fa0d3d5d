import { describe, expect, it } from "vitest";
import { ChunkReceipts } from "./chunk-receipt.js";
import { ChunkTokens } from "./chunk-token.js";

const SECRET = "a-cluster-secret-of-some-length";
const SUBJECT = { chunkId: "0123456789abcdef0123456789abcdef", length: 4096, checksum: 0xdeadbeef, datanodeId: "dn-1" };

describe("chunk receipts", () => {
  it("verify what the same secret signed, and nothing that differs in any field", () => {
    const receipts = new ChunkReceipts(SECRET);
    const signature = receipts.sign(SUBJECT);
    expect(signature.length).toBe(32);
    expect(receipts.verify(SUBJECT, signature)).toBe(true);
    expect(new ChunkReceipts(SECRET).verify(SUBJECT, signature)).toBe(true);
    for (const other of [
      { ...SUBJECT, chunkId: "f".repeat(32) },
      { ...SUBJECT, length: 4095 },
      { ...SUBJECT, checksum: 0xdeadbeee },
      { ...SUBJECT, datanodeId: "dn-2" },
    ]) {
      expect(receipts.verify(other, signature)).toBe(false);
    }
    expect(new ChunkReceipts("another-secret-of-some-length").verify(SUBJECT, signature)).toBe(false);
    expect(receipts.verify(SUBJECT, signature.subarray(0, 16))).toBe(false);
    expect(receipts.verify(SUBJECT, new Uint8Array(0))).toBe(false);
  });

  it("are not chunk tokens: a token's signature over the same secret is no receipt", () => {
    const token = new ChunkTokens(SECRET, 60_000).issue(SUBJECT.chunkId, "write", { attempt: "a", datanodeIds: [SUBJECT.datanodeId] });
    const mac = Buffer.from(token.split(".").at(-1)!, "base64url");
    expect(new ChunkReceipts(SECRET).verify(SUBJECT, mac)).toBe(false);
  });

  it("sign nothing and accept anything in a cluster without a secret", () => {
    const receipts = new ChunkReceipts(undefined);
    expect(receipts.sign(SUBJECT).length).toBe(0);
    expect(receipts.verify(SUBJECT, new Uint8Array(0))).toBe(true);
  });
});
