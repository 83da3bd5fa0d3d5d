import { describe, expect, it } from "vitest";
import { ChunkTokens } from "./chunk-token.js";
import { TrainfsError } from "@trainfs/core";

const SECRET = "a-cluster-secret-of-some-length";
const CHUNK = "0123456789abcdef0123456789abcdef";

function refusal(fn: () => void): TrainfsError {
  try {
    fn();
  } catch (err) {
    return err as TrainfsError;
  }
  throw new Error("expected the token to be refused");
}

describe("chunk access tokens", () => {
  it("accept what the same secret signed, for that chunk and operation, until expiry", () => {
    let now = 1_000_000;
    const tokens = new ChunkTokens(SECRET, 5000, () => now);
    const token = tokens.issue(CHUNK, "read");
    expect(() => tokens.verify(CHUNK, "read", token)).not.toThrow();
    now += 4999;
    expect(() => tokens.verify(CHUNK, "read", token)).not.toThrow();
    now += 1;
    const expired = refusal(() => tokens.verify(CHUNK, "read", token));
    expect(expired.code).toBe("permission_denied");
    expect(expired.message).toMatch(/expired/);
  });

  it("refuse another chunk, another operation, another secret, a changed expiry and garbage", () => {
    const tokens = new ChunkTokens(SECRET, 60_000);
    const scope = { attempt: "upload-1", datanodeIds: ["dn-a", "dn-b"] };
    const token = tokens.issue(CHUNK, "write", scope);
    const [op, expiry, attempt, nodes, mac] = token.split(".");
    const cases: Array<[string, string, "read" | "write", RegExp]> = [
      ["other chunk", token, "write", /invalid/],
      ["wrong operation", token, "read", /does not allow read/],
      ["other secret", new ChunkTokens("another-secret-entirely", 60_000).issue(CHUNK, "write", scope), "write", /invalid/],
      ["extended expiry", `${op}.${Number(expiry) + 3_600_000}.${attempt}.${nodes}.${mac}`, "write", /invalid/],
      ["another attempt", `${op}.${expiry}.upload-2.${nodes}.${mac}`, "write", /invalid/],
      ["a node added", `${op}.${expiry}.${attempt}.${nodes},dn-c.${mac}`, "write", /invalid/],
      ["swapped operation", `r.${expiry}.${attempt}.${nodes}.${mac}`, "read", /invalid/],
      ["empty", "", "write", /required/],
      ["garbage", "not-a-token", "write", /malformed/],
      ["extra part", `${token}.x`, "write", /malformed/],
    ];
    for (const [name, t, want, message] of cases) {
      const chunk = name === "other chunk" ? CHUNK.replace("0", "f") : CHUNK;
      const err = refusal(() => tokens.verify(chunk, want, t, "dn-a"));
      expect(err.code, name).toBe("permission_denied");
      expect(err.message, name).toMatch(message);
    }
  });

  it("bind a write token to the DataNodes of its chain", () => {
    const tokens = new ChunkTokens(SECRET, 60_000);
    const token = tokens.issue(CHUNK, "write", { attempt: "upload-1", datanodeIds: ["dn-a", "dn-b"] });
    expect(() => tokens.verify(CHUNK, "write", token, "dn-a")).not.toThrow();
    expect(() => tokens.verify(CHUNK, "write", token, "dn-b")).not.toThrow();
    expect(refusal(() => tokens.verify(CHUNK, "write", token, "dn-c")).message).toMatch(/other DataNodes/);
    expect(refusal(() => tokens.verify(CHUNK, "write", token)).message).toMatch(/other DataNodes/);
    expect(() => tokens.issue(CHUNK, "write", { attempt: "a.b", datanodeIds: ["dn-a"] })).toThrow();
  });
});
