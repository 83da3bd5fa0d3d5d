import { createHash } from "node:crypto";
import { TrainfsError, bearerToken, dataNodeCredential } from "@trainfs/common";

/** Who is calling, once the authorization header is checked. */
type Caller = "datanode" | "read-write" | "read-only" | "anonymous";

/** RPCs only DataNodes make. */
const DATANODE_RPCS = new Set(["RegisterDataNode", "ChunkReport", "HeartBeat", "CommitChunk"]);
/** RPCs that change nothing. */
const READ_RPCS = new Set(["GetFile", "List", "Stat", "ContentSummary", "ClusterStatus", "Fsck"]);
/** Clients and DataNodes both report bad replicas. */
const SHARED_RPCS = new Set(["ReportBadChunks"]);

export interface AccessSettings {
  clusterSecret?: string | undefined;
  apiTokens?: ReadonlyArray<{ access: "read-write" | "read-only"; token: string }> | undefined;
}

/**
 * Who may call which NameNode RPC. DataNodes present a credential derived
 * from the cluster secret; clients present API tokens, read-only ones being
 * refused every RPC that changes the namespace or the cluster. Each half is
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
  private readonly callers = new Map<string, Exclude<Caller, "anonymous">>();
  /** Clients must present an API token (some are configured). */
  readonly clientsAuthenticated: boolean;

  constructor(settings: AccessSettings) {
    this.credential = settings.clusterSecret ? dataNodeCredential(settings.clusterSecret) : undefined;
    for (const t of settings.apiTokens ?? []) this.callers.set(digest(t.token), t.access);
    if (this.credential) this.callers.set(digest(this.credential), "datanode");
    this.clientsAuthenticated = (settings.apiTokens?.length ?? 0) > 0;
  }

  get dataNodesAuthenticated(): boolean {
    return this.credential !== undefined;
  }

  /** Throws unauthenticated or permission_denied unless the caller may make this RPC. */
  authorize(method: string, headers: Headers): void {
    const caller = this.identify(headers, method);
    if (caller === "datanode") return;
    if (DATANODE_RPCS.has(method)) {
      if (!this.credential) return;
      if (caller === "anonymous") throw new TrainfsError("unauthenticated", `${method} is for DataNodes: present the cluster's DataNode credential`);
      throw new TrainfsError("permission_denied", `${method} is for DataNodes; a client token cannot make it`);
    }
    if (!this.clientsAuthenticated) return;
    if (caller === "anonymous") {
      throw new TrainfsError("unauthenticated", "this NameNode requires an API token: pass --token or set TRAINFS_TOKEN (SDK: the `token` option)");
    }
    if (caller === "read-only" && !READ_RPCS.has(method) && !SHARED_RPCS.has(method)) {
      throw new TrainfsError("permission_denied", `the token is read-only; ${method} needs a read-write token`);
    }
  }

  private identify(headers: Headers, method: string): Caller {
    const token = bearerToken(headers);
    if (token === undefined) return "anonymous";
    const known = this.callers.get(digest(token));
    if (known) return known;
    if (!this.credential && DATANODE_RPCS.has(method)) {
      // The DataNode has a secret this NameNode lacks: it would refuse every
      // chunk the NameNode sends it (no tokens), so say so at registration.
      throw new TrainfsError("failed_precondition", "this DataNode presents a cluster secret but the NameNode has none: configure the same clusterSecret on both");
    }
    throw new TrainfsError("unauthenticated", "the token is not valid for this cluster");
  }
}

function digest(secret: string): string {
  return createHash("sha256").update(secret).digest("base64");
}
