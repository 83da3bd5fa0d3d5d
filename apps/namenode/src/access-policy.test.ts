import { describe, expect, it } from "vitest";
import { dataNodeCredential } from "@trainfs/common";
import { AccessPolicy } from "./access-policy.js";

const SECRET = "the-cluster-secret-0123456789";
const RW = "read-write-token-0123456789";
const RO = "read-only-token-0123456789";
const as = (token?: string) => new Headers(token ? { authorization: `Bearer ${token}` } : {});

function outcome(policy: AccessPolicy, method: string, headers: Headers): string {
  try {
    policy.authorize(method, headers);
    return "ok";
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe("the NameNode's access policy", () => {
  const policy = new AccessPolicy({ clusterSecret: SECRET, apiTokens: [{ access: "read-write", token: RW }, { access: "read-only", token: RO }] });

  it("decides every kind of caller on every kind of RPC", () => {
    const table: Array<[string, string | undefined, string]> = [
      ["HeartBeat", dataNodeCredential(SECRET), "ok"],
      ["HeartBeat", undefined, "unauthenticated"],
      ["HeartBeat", dataNodeCredential("some-other-secret-0123"), "unauthenticated"],
      ["RegisterDataNode", RW, "permission_denied"],
      ["Stat", undefined, "unauthenticated"],
      ["Stat", "unknown-token-0123456789", "unauthenticated"],
      ["Stat", RO, "ok"],
      ["GetFile", RO, "ok"],
      ["ClusterStatus", RO, "ok"],
      ["ReportBadChunks", RO, "ok"],
      ["PutFile", RO, "permission_denied"],
      ["DeleteFile", RO, "permission_denied"],
      ["DecommissionDataNode", RO, "permission_denied"],
      ["PutFile", RW, "ok"],
      ["DecommissionDataNode", RW, "ok"],
      ["PutFile", dataNodeCredential(SECRET), "ok"],
    ];
    for (const [method, token, want] of table) expect(outcome(policy, method, as(token)), `${method} with ${token}`).toBe(want);
    expect(outcome(policy, "Stat", new Headers({ authorization: "Basic abc" }))).toBe("unauthenticated");
  });

  it("is open where nothing is configured, and says so to a DataNode that brings a secret", () => {
    const open = new AccessPolicy({});
    expect(outcome(open, "PutFile", as())).toBe("ok");
    expect(outcome(open, "HeartBeat", as())).toBe("ok");
    expect(outcome(open, "RegisterDataNode", as(dataNodeCredential(SECRET)))).toBe("failed_precondition");
    const clientsOnly = new AccessPolicy({ apiTokens: [{ access: "read-write", token: RW }] });
    expect(outcome(clientsOnly, "HeartBeat", as())).toBe("ok");
    expect(outcome(clientsOnly, "Stat", as())).toBe("unauthenticated");
  });
});
