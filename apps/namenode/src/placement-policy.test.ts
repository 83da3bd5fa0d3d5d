import { describe, expect, it } from "vitest";
import { TrainfsError } from "@trainfs/common";
import { chooseTargets } from "./placement-policy.js";

describe("chooseTargets", () => {
  const nodes = [
    { id: "a", available: 100 },
    { id: "b", available: 300 },
    { id: "c", available: 200 },
    { id: "d", available: 50 },
  ];

  it("picks distinct nodes with the most available space first", () => {
    expect(chooseTargets(nodes, 3, 10)).toEqual(["b", "c", "a"]);
    expect(chooseTargets(nodes, 1, 10)).toEqual(["b"]);
  });

  it("breaks ties by id, so plans are deterministic", () => {
    expect(chooseTargets([{ id: "y", available: 5 }, { id: "x", available: 5 }], 2, 1)).toEqual(["x", "y"]);
  });

  it("skips nodes without room for the chunk", () => {
    expect(chooseTargets(nodes, 2, 150)).toEqual(["b", "c"]);
  });

  it("fails with FailedPrecondition naming how many nodes are live", () => {
    const err = catchError(() => chooseTargets(nodes.slice(0, 2), 3, 10));
    expect(err.code).toBe("failed_precondition");
    expect(err.message).toBe("replication 3 needs 3 live DataNodes, but 2 are live");
  });

  it("fails with ResourceExhausted when too few nodes have room", () => {
    const err = catchError(() => chooseTargets(nodes, 3, 250));
    expect(err.code).toBe("resource_exhausted");
    expect(err.message).toContain("only 1 of 4 live DataNodes have room");
  });
});

function catchError(fn: () => unknown): TrainfsError {
  try {
    fn();
  } catch (err) {
    return err as TrainfsError;
  }
  throw new Error("expected an error");
}
