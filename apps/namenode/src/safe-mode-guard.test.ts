import { describe, expect, it } from "vitest";
import { AdminService, ClientService, DataNodeProtocolService } from "@trainfs/proto";
import { checkSafeMode, refusedInSafeMode } from "./safe-mode-guard.js";

const method = (service: typeof ClientService | typeof AdminService | typeof DataNodeProtocolService, name: string) => service.methods.find((m) => m.name === name)!;

describe("an operator's safe mode", () => {
  it("refuses the client service's changes, by the proto's idempotency, and nothing else", () => {
    const refused = ClientService.methods.filter(refusedInSafeMode).map((m) => m.name).sort();
    expect(refused).toEqual(["AddChunk", "ConcatFiles", "ConfirmFile", "ConfirmFiles", "DeleteFile", "DeleteFiles", "Mkdir", "PutFile", "PutFiles", "Rename", "ReplaceChain", "SetReplication"]);
    for (const name of ["Stat", "List", "GetFile", "GetFiles", "RenewLease", "AbandonFile"]) expect(refusedInSafeMode(method(ClientService, name)), name).toBe(false);
    expect(AdminService.methods.some(refusedInSafeMode)).toBe(false);
    expect(DataNodeProtocolService.methods.some(refusedInSafeMode)).toBe(false);
  });

  it("says why in words, only while an operator holds it", () => {
    expect(() => checkSafeMode(method(ClientService, "DeleteFile"), true)).toThrow(expect.objectContaining({ code: "failed_precondition", message: expect.stringMatching(/safe mode, entered by an operator.*DeleteFile refused/) }));
    expect(() => checkSafeMode(method(ClientService, "DeleteFile"), false)).not.toThrow();
  });
});
