import { describe, expect, it } from "vitest";
import { ChunkWriteError, recoverable } from "./chain-failure.js";
import { TrainfsError } from "./errors.js";

const named = (code: TrainfsError["code"]) => new ChunkWriteError(code, "x", "http://dn", { named: true });
const unreachable = (code: TrainfsError["code"]) => new ChunkWriteError(code, "x", "http://dn");
const nobody = (code: TrainfsError["code"]) => new ChunkWriteError(code, "x", undefined);

describe("which chain failures get a new chain", () => {
  it("takes a node down, hung, full or damaging bytes, named or not", () => {
    for (const code of ["unavailable", "resource_exhausted", "internal", "data_loss", "deadline_exceeded"] as const) {
      expect(recoverable(named(code)), code).toBe(true);
      expect(recoverable(nobody(code)), code).toBe(true);
    }
  });

  it("takes a refused (expired) token", () => {
    expect(recoverable(named("permission_denied"))).toBe(true);
  });

  it("takes a cut call (canceled or aborted) only when a node is known", () => {
    for (const code of ["canceled", "aborted"] as const) {
      expect(recoverable(named(code))).toBe(true);
      expect(recoverable(unreachable(code))).toBe(true);
      expect(recoverable(nobody(code))).toBe(false);
    }
  });

  it("takes already_exists only from a DataNode that named itself", () => {
    expect(recoverable(named("already_exists"))).toBe(true);
    expect(recoverable(unreachable("already_exists"))).toBe(false);
  });

  it("refuses the rest, and errors that are not a chunk write's", () => {
    for (const code of ["invalid_argument", "not_found", "failed_precondition", "unauthenticated"] as const) expect(recoverable(named(code))).toBe(false);
    expect(recoverable(new TrainfsError("unavailable", "x"))).toBe(false);
  });
});
