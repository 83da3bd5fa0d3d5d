import { describe, expect, it } from "vitest";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { AdminService, ClientService, DataNodeProtocolService, DataNodeService } from "@trainfs/proto";
import { dataNodeCredential } from "@trainfs/common";
import { AccessPolicy } from "./access-policy.js";

const SECRET = "the-cluster-secret-0123456789";
const RW = "read-write-token-0123456789";
const RO = "read-only-token-0123456789";
const as = (token?: string) => new Headers(token ? { authorization: `Bearer ${token}` } : {});

function outcome(policy: AccessPolicy, method: DescMethod, headers: Headers): string {
  try {
    policy.authorize(method, headers);
    return "ok";
  } catch (err) {
    return (err as { code: string }).code;
  }
}

function method(service: DescService, name: string): DescMethod {
  const m = service.methods.find((x) => x.name === name);
  if (!m) throw new Error(`no method ${name} in ${service.typeName}`);
  return m;
}

describe("the NameNode's access policy", () => {
  const policy = new AccessPolicy({ clusterSecret: SECRET, apiTokens: [{ access: "read-write", token: RW }, { access: "read-only", token: RO }] });

  it("decides every kind of caller on every kind of RPC", () => {
    const table: Array<[DescService, string, string | undefined, string]> = [
      [DataNodeProtocolService, "HeartBeat", dataNodeCredential(SECRET), "ok"],
      [DataNodeProtocolService, "HeartBeat", undefined, "unauthenticated"],
      [DataNodeProtocolService, "HeartBeat", dataNodeCredential("some-other-secret-0123"), "unauthenticated"],
      [DataNodeProtocolService, "RegisterDataNode", RW, "permission_denied"],
      [DataNodeProtocolService, "ReportCorruptChunks", RW, "permission_denied"],
      [DataNodeProtocolService, "ReportCorruptChunks", RO, "permission_denied"],
      [ClientService, "Stat", undefined, "unauthenticated"],
      [ClientService, "Stat", "unknown-token-0123456789", "unauthenticated"],
      [ClientService, "Stat", RO, "ok"],
      [ClientService, "GetFile", RO, "ok"],
      [ClientService, "GetFiles", RO, "ok"],
      [ClientService, "GetFiles", undefined, "unauthenticated"],
      [ClientService, "GetFiles", "unknown-token-0123456789", "unauthenticated"],
      [ClientService, "DeleteFiles", undefined, "unauthenticated"],
      [ClientService, "DeleteFiles", RO, "permission_denied"],
      [ClientService, "DeleteFiles", "unknown-token-0123456789", "unauthenticated"],
      [ClientService, "DeleteFiles", RW, "ok"],
      [AdminService, "ClusterStatus", RO, "ok"],
      [AdminService, "ClusterHistory", RO, "ok"],
      // A report of bad replicas makes the NameNode act: never for a read-only token.
      [ClientService, "ReportBadChunks", RO, "permission_denied"],
      [ClientService, "ReportBadChunks", RW, "ok"],
      [ClientService, "PutFile", RO, "permission_denied"],
      [ClientService, "DeleteFile", RO, "permission_denied"],
      [ClientService, "ConcatFiles", undefined, "unauthenticated"],
      [ClientService, "ConcatFiles", "unknown-token-0123456789", "unauthenticated"],
      [ClientService, "ConcatFiles", RO, "permission_denied"],
      [ClientService, "ConcatFiles", RW, "ok"],
      [AdminService, "DecommissionDataNode", RO, "permission_denied"],
      [AdminService, "StartBalancer", RO, "permission_denied"],
      [ClientService, "PutFile", RW, "ok"],
      [AdminService, "DecommissionDataNode", RW, "ok"],
      // HA: anyone with a token may ask where the active NameNode is; only read-write tokens hand leadership over.
      [AdminService, "GetHaStatus", undefined, "unauthenticated"],
      [AdminService, "GetHaStatus", "unknown-token-0123456789", "unauthenticated"],
      [AdminService, "GetHaStatus", RO, "ok"],
      [AdminService, "GetHaStatus", RW, "ok"],
      [AdminService, "Failover", undefined, "unauthenticated"],
      [AdminService, "Failover", "unknown-token-0123456789", "unauthenticated"],
      [AdminService, "Failover", RO, "permission_denied"],
      [AdminService, "Failover", dataNodeCredential(SECRET), "permission_denied"],
      [AdminService, "Failover", RW, "ok"],
      // Each credential opens its own services only.
      [ClientService, "PutFile", dataNodeCredential(SECRET), "permission_denied"],
      [AdminService, "ClusterStatus", dataNodeCredential(SECRET), "permission_denied"],
    ];
    for (const [service, name, token, want] of table) expect(outcome(policy, method(service, name), as(token)), `${name} with ${token}`).toBe(want);
    expect(outcome(policy, method(ClientService, "Stat"), new Headers({ authorization: "Basic abc" }))).toBe("unauthenticated");
  });

  it("names the caller for the audit log by its token's name, never by the token", () => {
    const named = new AccessPolicy({ apiTokens: [{ access: "read-write", token: RW, name: "alice" }, { access: "read-only", token: RO }] });
    expect(named.authorize(method(ClientService, "DeleteFile"), as(RW))).toBe("alice");
    const unnamed = named.authorize(method(ClientService, "Stat"), as(RO));
    expect(unnamed).toMatch(/^ro-[0-9a-f]{8}$/);
    expect(unnamed).not.toContain(RO.slice(0, 8));
    expect(new AccessPolicy({}).authorize(method(ClientService, "Stat"), new Headers())).toBe("anonymous");
  });

  it("follows each method's declared idempotency, for every method of every service", () => {
    for (const service of [ClientService, AdminService]) {
      for (const m of service.methods) {
        const reads = m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
        expect(outcome(policy, m, as(RO)), `${m.name} read-only`).toBe(reads ? "ok" : "permission_denied");
        expect(outcome(policy, m, as(RW)), `${m.name} read-write`).toBe("ok");
        expect(outcome(policy, m, as()), `${m.name} anonymous`).toBe("unauthenticated");
        expect(outcome(policy, m, as("wrong-token-0123456789")), `${m.name} wrong`).toBe("unauthenticated");
      }
    }
    for (const m of DataNodeProtocolService.methods) {
      expect(outcome(policy, m, as(dataNodeCredential(SECRET))), m.name).toBe("ok");
      for (const t of [RO, RW]) expect(outcome(policy, m, as(t)), `${m.name} with a client token`).toBe("permission_denied");
      expect(outcome(policy, m, as()), `${m.name} anonymous`).toBe("unauthenticated");
    }
  });

  it("refuses a service it has no rule for", () => {
    expect(outcome(policy, method(DataNodeService, "ReadChunk"), as(RW))).toBe("permission_denied");
  });

  it("is open where nothing is configured, and says so to a DataNode that brings a secret", () => {
    const open = new AccessPolicy({});
    expect(outcome(open, method(ClientService, "PutFile"), as())).toBe("ok");
    expect(outcome(open, method(DataNodeProtocolService, "HeartBeat"), as())).toBe("ok");
    expect(outcome(open, method(DataNodeProtocolService, "RegisterDataNode"), as(dataNodeCredential(SECRET)))).toBe("failed_precondition");
    const clientsOnly = new AccessPolicy({ apiTokens: [{ access: "read-write", token: RW }] });
    expect(outcome(clientsOnly, method(DataNodeProtocolService, "HeartBeat"), as())).toBe("ok");
    expect(outcome(clientsOnly, method(ClientService, "Stat"), as())).toBe("unauthenticated");
  });
});
