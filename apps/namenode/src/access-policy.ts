import { createHash } from "node:crypto";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { AdminService, ClientService, DataNodeProtocolService } from "@trainfs/proto";
import { TrainfsError, bearerToken, dataNodeCredential } from "@trainfs/common";

/** Who is calling, once the authorization header is checked. */
type Caller = "datanode" | "read-write" | "read-only" | "anonymous";

/** Who may call a service: DataNodes (the credential derived from the cluster secret) or clients (API tokens). */
type Audience = "datanodes" | "clients";

/**
 * Every service the NameNode serves, with who may call it. A service missing
 * here is refused whole (see `audienceOf`), so a new one cannot be served
 * before its access is decided.
 */
const AUDIENCES = new Map<string, Audience>([
  [ClientService.typeName, "clients"],
  [AdminService.typeName, "clients"],
  [DataNodeProtocolService.typeName, "datanodes"],
]);

export interface AccessSettings {
  clusterSecret?: string | undefined;
  apiTokens?: ReadonlyArray<{ access: "read-write" | "read-only"; token: string; name?: string }> | undefined;
}

/**
 * Who may call which NameNode RPC, decided by the method's service and its
 * declared idempotency, never by a list of names: the DataNode protocol needs
 * the credential derived from the cluster secret; the client and admin
 * services need an API token, and a read-only token may call exactly the
 * methods the proto marks `idempotency_level = NO_SIDE_EFFECTS`. Each half is
 * on once its setting is configured, so a cluster without any runs open (the
 * NameNode logs a warning at start).
 */
export class AccessPolicy {
  private readonly credential: string | undefined;
  /**
   * Who each known secret belongs to, keyed by its SHA-256: one hash per call
   * whatever the number of tokens, and a lookup by digest tells nothing about
   * the secrets (no timing leak of a string comparison).
   */
  private readonly callers = new Map<string, { caller: Exclude<Caller, "anonymous">; name: string }>();
  /** Clients must present an API token (some are configured). */
  readonly clientsAuthenticated: boolean;

  constructor(settings: AccessSettings) {
    this.credential = settings.clusterSecret ? dataNodeCredential(settings.clusterSecret) : undefined;
    for (const t of settings.apiTokens ?? []) {
      const hash = digest(t.token);
      // The audit log names the caller, never the token: an unnamed token
      // goes by a short fingerprint of its hash.
      const name = t.name ?? `${t.access === "read-write" ? "rw" : "ro"}-${Buffer.from(hash, "base64").toString("hex").slice(0, 8)}`;
      this.callers.set(hash, { caller: t.access, name });
    }
    if (this.credential) this.callers.set(digest(this.credential), { caller: "datanode", name: "datanode" });
    this.clientsAuthenticated = (settings.apiTokens?.length ?? 0) > 0;
  }

  get dataNodesAuthenticated(): boolean {
    return this.credential !== undefined;
  }

  /**
   * Throws unauthenticated or permission_denied unless the caller may make
   * this RPC; returns the caller's name for the audit log (a token's name,
   * "anonymous" where no token is needed).
   */
  authorize(method: DescMethod, headers: Headers, nameCaller: (name: string) => void = () => {}): string {
    const audience = audienceOf(method.parent);
    const { caller, name } = this.identify(headers, audience);
    // Named before any refusal, so that the audit log says who was refused.
    nameCaller(name);
    if (audience === "datanodes") {
      if (!this.credential || caller === "datanode") return name;
      if (caller === "anonymous") throw new TrainfsError("unauthenticated", `${method.name} is for DataNodes: present the cluster's DataNode credential`);
      throw new TrainfsError("permission_denied", `${method.name} is for DataNodes; a client token cannot make it`);
    }
    if (!this.clientsAuthenticated) return name;
    if (caller === "anonymous") {
      throw new TrainfsError("unauthenticated", "this NameNode requires an API token: pass --token or set TRAINFS_TOKEN (SDK: the `token` option)");
    }
    if (caller === "datanode") throw new TrainfsError("permission_denied", `${method.name} is for clients; the DataNode credential cannot make it`);
    if (caller === "read-only" && method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
      throw new TrainfsError("permission_denied", `the token is read-only; ${method.name} changes the file system or the cluster and needs a read-write token`);
    }
    return name;
  }

  private identify(headers: Headers, audience: Audience): { caller: Caller; name: string } {
    const token = bearerToken(headers);
    if (token === undefined) return { caller: "anonymous", name: "anonymous" };
    const known = this.callers.get(digest(token));
    if (known) return known;
    if (!this.credential && audience === "datanodes") {
      // The DataNode has a secret this NameNode lacks: it would refuse every
      // chunk the NameNode sends it (no tokens), so say so at registration.
      throw new TrainfsError("failed_precondition", "this DataNode presents a cluster secret but the NameNode has none: configure the same clusterSecret on both");
    }
    throw new TrainfsError("unauthenticated", "the token is not valid for this cluster");
  }
}

function audienceOf(service: DescService): Audience {
  const audience = AUDIENCES.get(service.typeName);
  if (!audience) throw new TrainfsError("permission_denied", `${service.typeName} has no access rule on this NameNode`);
  return audience;
}

function digest(secret: string): string {
  return createHash("sha256").update(secret).digest("base64");
}
