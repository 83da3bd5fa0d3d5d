import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TrainfsError, toConnectError, toTrainfsError } from "./errors.js";

describe("error mapping", () => {
  it("maps TrainfsError codes to Connect codes and back", () => {
    const cases = [
      ["invalid_argument", Code.InvalidArgument],
      ["not_found", Code.NotFound],
      ["already_exists", Code.AlreadyExists],
      ["failed_precondition", Code.FailedPrecondition],
      ["unavailable", Code.Unavailable],
      ["data_loss", Code.DataLoss],
    ] as const;
    for (const [code, connect] of cases) {
      const ce = toConnectError(new TrainfsError(code, "why"));
      expect(ce.code).toBe(connect);
      expect(ce.rawMessage).toBe("why");
      const back = toTrainfsError(ce);
      expect(back.code).toBe(code);
      expect(back.message).toBe("why");
    }
  });

  it("turns unknown errors into Internal", () => {
    expect(toConnectError(new Error("boom")).code).toBe(Code.Internal);
    expect(toTrainfsError(new ConnectError("x", Code.Unknown)).code).toBe("internal");
  });
});
