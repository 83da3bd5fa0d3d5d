import { Code, ConnectError } from "@connectrpc/connect";
import { ConsecutiveBreaker, circuitBreaker, handleWhen, isBrokenCircuitError, noop } from "cockatiel";
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdPermissionDeniedError,
  EtcdRoleNotGrantedError,
  EtcdUserNotFoundError,
  GRPCUnauthenticatedError,
  isRecoverableError,
  type Lease,
  type Watcher,
} from "etcd3";
import { TrainfsError, dataNodeCredential, type Logger } from "@trainfs/common";
import type { Journal, JournalOp, MetadataStore, WriteReplicator } from "../metadata-store.js";
import type { EtcdConnection } from "./etcd-connection.js";

/** The header a standby sets on its `unavailable` answers: where the active NameNode is. */
export const ACTIVE_NAMENODE_HEADER = "trainfs-active-namenode";
/** The active NameNode's snapshot of its metadata, for standbys that cannot catch up from the log. */
export const SNAPSHOT_PATH = "/trainfs-ha/snapshot";

export type HaRole = "active" | "standby";

export interface HaMember {
  address: string;
  role: HaRole;
  appliedSeq: number;
}

export interface HaStatus {
  role: HaRole;
  advertiseAddress: string;
  activeAddress: string;
  epoch: number;
  appliedSeq: number;
  members: HaMember[];
}

export interface HaOptions {
  etcd: EtcdConnection;
  /** The key prefix, `/trainfs/<cluster>/`. */
  prefix: string;
  advertiseAddress: string;
  leaseTtlSeconds: number;
  clusterSecret?: string | undefined;
}

/** What the NameNode does when this member becomes active or stops being it. */
export interface HaHooks {
  promote(): Promise<void>;
  demote(): Promise<void>;
}

/** Entries per etcd transaction: etcd refuses more than 128 operations in one (its --max-txn-ops). */
const MAX_BATCH_ENTRIES = 100;
/** Bytes per etcd transaction, under etcd's default request limit (1.5 MiB). */
const MAX_BATCH_BYTES = 1024 * 1024;
/** A larger entry (a big delete, a first chunk report) is written as parts of this size, each in its own request. */
const MAX_ENTRY_BYTES = 512 * 1024;
/** Log entries a lagging live member may hold back from deletion: beyond, it catches up from a snapshot instead. */
const MAX_RETAINED_ENTRIES = 100_000;
/** Entries applied per LMDB transaction while catching up. */
const APPLY_PAGE = 500;
const TICK_MS = 500;
/** A standby applies the log at most this often while it grows (see headMoved). */
const FOLLOW_MS = 250;
const PUBLISH_MS = 1000;
const COMPACT_MS = 2000;
const EPOCHS_KEPT = 100;

const pad = (n: number) => String(n).padStart(16, "0");

const journalBytes = (j: Journal) => j.ops.reduce((n, op) => n + op.length + 1, 64);

/** Ops in runs of at most `max` bytes (one op larger than that makes a run of its own). */
function splitOps(ops: readonly string[], max: number): string[][] {
  const runs: string[][] = [[]];
  let bytes = 0;
  for (const op of ops) {
    if (bytes + op.length + 1 > max && runs[runs.length - 1]!.length > 0) {
      runs.push([]);
      bytes = 0;
    }
    runs[runs.length - 1]!.push(op);
    bytes += op.length + 1;
  }
  return runs;
}

/** etcd refused our credentials or their rights: trying again will not help. */
const refused = (err: unknown) =>
  err instanceof EtcdAuthenticationFailedError || err instanceof EtcdPermissionDeniedError || err instanceof EtcdUserNotFoundError || err instanceof EtcdRoleNotGrantedError || err instanceof GRPCUnauthenticatedError;

/** How long a NameNode starting in HA mode keeps trying to reach etcd before it gives up. */
const START_WAIT_MS = 30_000;
/** How long an etcd member that failed a call is passed over (others answer meanwhile; then it is tried again). */
const HOST_SKIP_MS = 1000;
/** The first try of an append waits this long for etcd's answer before it is sent again (see appendEntries). */
const APPEND_FIRST_DEADLINE_MS = 1500;

/**
 * NameNode high availability on etcd (docs/architecture.md, "High
 * availability"). Members elect the active one with a key bound to their
 * lease; the active one's writes are journaled by the MetadataStore and
 * appended here, group-committed, as log entries in etcd transactions that
 * succeed only while its leader key is the one it created (fencing: a member
 * whose lease expired cannot append, even before it learns so). Standbys
 * apply the log into their own LMDB, or load a snapshot from the active
 * one when the log no longer reaches back to them. The active one deletes
 * entries every live member has applied and compacts etcd's history.
 */
export class HaCoordinator implements WriteReplicator {
  private role: HaRole | "resigning" = "standby";
  /** The active member's term (the etcd revision that created its leader key); ours when active. */
  private epoch = 0;
  private activeAddress = "";
  private lease: Lease | undefined;
  private leaseId = "";
  private readonly queue: Array<{ journal: Journal; resolve: () => void; reject: (err: unknown) => void }> = [];
  private appending: Promise<void> | undefined;
  /** Last seq durable in etcd while active. */
  private appendedSeq = 0;
  /** The head key's mod revision as this active member last wrote (or, once elected, read) it: appends are fenced on it. */
  private headRevision = "0";
  /** The local copy is broken (a numbered write rolled back): rebuild it from a snapshot whatever the log says. */
  private needsResync = false;
  /** The local copy is known to be a prefix of the log (checked once after start or demotion). */
  private verified = false;
  private holdCampaignUntil = 0;
  private lastPublished = "";
  private lastPublishMs = 0;
  private lastCompactMs = 0;
  private members: HaMember[] = [];
  private timer: NodeJS.Timeout | undefined;
  private followTimer: NodeJS.Timeout | undefined;
  private lastTickMs = 0;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private watchers: Watcher[] = [];
  private transition: Promise<void> = Promise.resolve();
  /** When our leadership was last confirmed by etcd (a read of the leader key or an append, timed at the request). */
  private confirmedMs = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private compacting: Promise<void> | undefined;
  private failedRounds = 0;
  /** Resolves when this member stops being active (renewed at each election). */
  private steppedDown: Promise<void> = new Promise(() => undefined);
  private stepDown: () => void = () => undefined;
  /** Snapshots loaded since start (for tests and the log). */
  snapshotsLoaded = 0;

  private constructor(
    private readonly store: MetadataStore,
    private readonly client: Etcd3,
    private readonly options: HaOptions,
    private readonly hooks: HaHooks,
    private readonly logger: Logger,
  ) {}

  /** Connects to etcd, joins as a standby and starts following; the election runs in the background. */
  static async start(store: MetadataStore, options: HaOptions, hooks: HaHooks, logger: Logger): Promise<HaCoordinator> {
    // Every unary call gives up after a lease TTL: an etcd that stopped answering must not hang a write or a round.
    const { endpoints, tls, auth } = options.etcd;
    const client = new Etcd3({
      hosts: endpoints,
      // https:// members: the given roots (or grpc's defaults when none) and our client certificate, if any.
      ...(tls?.ca || tls?.cert ? { credentials: { rootCertificate: tls.ca ?? (null as unknown as Buffer), privateKey: tls.key, certChain: tls.cert } } : {}),
      ...(auth ? { auth } : {}),
      dialTimeout: 3000,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + options.leaseTtlSeconds * 1000 }),
      // Each call goes to a member picked at random. One that failed a call
      // (down, refusing, past a deadline) is passed over for a second, so the
      // others take the calls instead of every round failing at random on it
      // (an etcd member killed during puts stalled them for 30 s without this).
      // One attempt per call: our own loops retry, and appends stop when the NameNode steps down.
      faultHandling: {
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: HOST_SKIP_MS, breaker: new ConsecutiveBreaker(1) }),
        global: noop,
      },
    });
    const ha = new HaCoordinator(store, client, options, hooks, logger);
    // A member that is down (or an etcd still starting) fails a call, not the
    // start, which tries again for a while before it gives up.
    const deadline = Date.now() + START_WAIT_MS;
    // What a member answered, rather than "circuit open" for one passed over.
    let memberError: unknown;
    const reach = async <T>(step: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await step();
        } catch (err) {
          if (!isBrokenCircuitError(err)) memberError = err;
          if (err instanceof TrainfsError || refused(err) || Date.now() > deadline) throw memberError ?? err;
          if (attempt === 1) logger.warn({ err: (err as Error).message }, "etcd did not answer; trying again");
          await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
        }
      }
    };
    try {
      // The first member to come registers its cluster id; the others copy it with the first snapshot.
      await reach(() => client.if(ha.key("cluster-id"), "Create", "==", 0).then(client.put(ha.key("cluster-id")).value(store.clusterId)).commit());
      const clusterId = await reach(() => client.get(ha.key("cluster-id")).string());
      // A new member takes the cluster's metadata with its first snapshot; one
      // holding another cluster's must not have it overwritten.
      const fresh = store.appliedSeq === 0 && store.fileCount() === 0 && store.directoryCount() <= 1;
      if (clusterId !== store.clusterId && !fresh) {
        throw new TrainfsError(
          "failed_precondition",
          `the data directory holds cluster ${store.clusterId}, but etcd (${options.prefix}) belongs to cluster ${clusterId}: use an empty dataDir to join this cluster, or another haClusterName`,
        );
      }
      await reach(() => ha.grantLease());
      await reach(() => ha.watch());
    } catch (err) {
      client.close();
      if (err instanceof TrainfsError) throw err;
      const at = endpoints.join(",");
      if (refused(err)) {
        const who = auth ? `user ${auth.username}` : tls?.cert ? "the client certificate's user" : "no user (haEtcdUser unset)";
        throw new TrainfsError("permission_denied", `etcd at ${at} refused this NameNode (${who}): ${(err as Error).message}; it needs read-write on ${options.prefix}`, { cause: err });
      }
      // grpc reports a failed TLS handshake as "No connection established", with no reason.
      const hint = tls ? " (over https:// this is also how a failed TLS handshake shows: check haEtcdCa, and haEtcdCert and haEtcdKey if etcd asks for a client certificate)" : "";
      throw new TrainfsError("unavailable", `cannot reach etcd at ${at}: ${(err as Error).message}${hint}`, { cause: err });
    }
    store.setReplicator(ha);
    ha.schedule(0);
    // Cut off from etcd, an active member cannot know whether it still leads:
    // after one lease TTL without confirmation another may, so it steps down
    // (its appends would fail anyway) and stops serving possibly stale reads.
    ha.watchdog = setInterval(() => {
      void ha.isActive;
    }, TICK_MS / 2);
    ha.watchdog.unref();
    return ha;
  }

  /**
   * Whether this member serves as the active one now. Checked at every call:
   * a process resumed after a pause longer than the lease steps down before
   * it answers anything, not at the watchdog's next turn.
   */
  get isActive(): boolean {
    if (this.role === "active" && this.leadershipStale()) this.demote("etcd has not confirmed its leadership for a lease TTL");
    return this.role === "active";
  }

  /** This member's LMDB is the cluster's (its cluster id and a prefix of the log): what it tells DataNodes is true. */
  get inSync(): boolean {
    return this.role === "active" || this.verified;
  }

  private leadershipStale(): boolean {
    return Date.now() - this.confirmedMs > this.options.leaseTtlSeconds * 1000;
  }

  get currentRole(): HaRole {
    return this.role === "active" ? "active" : "standby";
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  get appliedSeq(): number {
    return this.store.appliedSeq;
  }

  get advertiseAddress(): string {
    return this.options.advertiseAddress;
  }

  /** The error a standby answers client and admin calls with: `unavailable`, with the active one's address when known. */
  standbyError(): ConnectError {
    const me = this.options.advertiseAddress;
    const active = this.activeAddress && this.activeAddress !== me ? this.activeAddress : "";
    const message = active ? `NameNode ${me} is a standby; the active NameNode is ${active}` : `NameNode ${me} is a standby; no active NameNode is elected yet`;
    return new ConnectError(message, Code.Unavailable, active ? new Headers({ [ACTIVE_NAMENODE_HEADER]: active }) : undefined);
  }

  // ---- WriteReplicator: the active member's writes ----

  checkWritable(): number {
    if (!this.isActive) throw this.standbyError();
    return this.epoch;
  }

  append(journal: Journal): Promise<void> {
    if (this.role !== "active" && this.role !== "resigning") {
      return Promise.reject(this.lostError());
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ journal, resolve, reject });
      this.appending ??= this.drain().finally(() => (this.appending = undefined));
    });
  }

  lost(seq: number, err: unknown): void {
    this.logger.error({ err, seq }, "a journaled write was rolled back after it was numbered: rebuilding the metadata from the active NameNode");
    this.needsResync = true;
    this.demote("a write failed after it was numbered");
  }

  /**
   * Group commit: whatever queued while the previous etcd transaction was in
   * flight goes in the next one (batched by queue depth, no timer), fenced on
   * our leader key. The first transaction waits for the turn of the event
   * loop that queued it (setImmediate, not a time window): the writes of one
   * LMDB commit resume one after another in that turn, and without the wait
   * the first would go alone and the rest in the next transaction.
   */
  private async drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch: typeof this.queue = [];
      let bytes = 0;
      while (this.queue.length > 0 && batch.length < MAX_BATCH_ENTRIES) {
        const next = this.queue[0]!;
        const size = journalBytes(next.journal);
        if (batch.length > 0 && (bytes + size > MAX_BATCH_BYTES || size > MAX_ENTRY_BYTES)) break;
        batch.push(this.queue.shift()!);
        bytes += size;
        if (size > MAX_ENTRY_BYTES) break;
      }
      const last = batch[batch.length - 1]!;
      const epoch = last.journal.epoch;
      let ok = false;
      /** Some request went unanswered: etcd may have committed it after all. */
      let uncertain = false;
      const attempt = <T>(call: () => Promise<T>) => this.retrying(call, () => (uncertain = true));
      const asked = Date.now();
      try {
        const puts: Array<ReturnType<Etcd3["put"]>> = [];
        for (const b of batch) {
          const { seq, ops } = b.journal;
          if (journalBytes(b.journal) <= MAX_ENTRY_BYTES) {
            puts.push(this.client.put(this.logKey(seq)).value(`{"seq":${seq},"epoch":${epoch},"ops":[${ops.join(",")}]}`));
            continue;
          }
          // Too large for one etcd request: its ops go first as parts (not
          // yet in the log, so a leader dying half-way leaves nothing a
          // standby applies), then the entry that names them.
          const parts = splitOps(ops, MAX_ENTRY_BYTES);
          const fenced = (op: ReturnType<Etcd3["put"]> | ReturnType<Etcd3["delete"]>) =>
            attempt(() => this.appendTxn(epoch).then(op).commit().then((r) => r.succeeded));
          // Parts a previous leader left for this seq before it died (etcd refuses a put and an overlapping delete in one transaction).
          ok = await fenced(this.client.delete().prefix(this.key(`part/${pad(seq)}/`)));
          for (const [i, part] of parts.entries()) {
            if (!ok) break;
            ok = await fenced(this.client.put(this.partKey(seq, i)).value(`[${part.join(",")}]`));
          }
          if (!ok) break;
          puts.push(this.client.put(this.logKey(seq)).value(JSON.stringify({ seq, epoch, parts: parts.length })));
        }
        if (puts.length === batch.length) {
          const head = JSON.stringify({ seq: last.journal.seq, epoch });
          puts.push(this.client.put(this.key("head")).value(head));
          ok = await this.appendEntries(epoch, puts, head, attempt);
        } else ok = false;
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, "cannot append to the metadata log in etcd");
        ok = false;
        uncertain = true;
      }
      if (!ok || (this.role !== "active" && this.role !== "resigning") || epoch !== this.epoch) {
        // Fenced: another member leads (or etcd was unreachable for a whole
        // lease). These changes are in our LMDB but not in the log.
        for (const b of batch) b.reject(this.lostError(uncertain));
        for (const b of this.queue.splice(0)) b.reject(this.lostError());
        this.demote("fenced: the leader key is no longer ours");
        return;
      }
      this.appendedSeq = last.journal.seq;
      this.store.appended(this.appendedSeq);
      this.confirmedMs = Math.max(this.confirmedMs, asked);
      for (const b of batch) b.resolve();
    }
  }

  /** Retries a call etcd did not answer, as long as this member is active; a retry of an append is idempotent. */
  private async retrying<T>(call: () => Promise<T>, onError: () => void): Promise<T> {
    for (;;) {
      try {
        // Stepping down (the watchdog, a lost lease) ends the wait at once:
        // the caller hears Unavailable instead of waiting for etcd's answer.
        return await Promise.race([call(), this.steppedDown.then(() => Promise.reject(this.lostError()))]);
      } catch (err) {
        onError();
        // While etcd confirms our leadership (the rounds, the lease), a slow
        // or lost answer is tried again; the watchdog ends it otherwise.
        if (this.stopped || (this.role !== "active" && this.role !== "resigning")) throw err;
        await sleep(200);
      }
    }
  }

  /**
   * The log entries and the new head in one transaction, fenced on our leader
   * key and on the head as we last wrote it. A request etcd lost with its
   * leader is only answered after etcd's own request timeout (7 s by
   * default), so it is sent again sooner, with a longer deadline each time.
   * The head fence makes that safe: of several tries of one append at most one
   * commits, and a late one can never move the head back; a try that finds the
   * head already at this append's value learns that an earlier one went in.
   */
  private async appendEntries(
    epoch: number,
    puts: Array<ReturnType<Etcd3["put"]>>,
    head: string,
    attempt: <T>(call: () => Promise<T>) => Promise<T>,
  ): Promise<boolean> {
    const expected = this.headRevision;
    let deadlineMs = APPEND_FIRST_DEADLINE_MS;
    return attempt(async () => {
      const res = await this.appendTxn(epoch, deadlineMs).and(this.key("head"), "Mod", "==", expected).then(...puts).commit();
      deadlineMs = Math.min(2 * deadlineMs, this.appendDeadlineMs);
      if (res.succeeded) {
        this.headRevision = String(res.header.revision);
        return true;
      }
      const now = await this.readHead();
      if (now.value !== head) return false;
      this.headRevision = now.modRevision;
      return true;
    });
  }

  /** The longest wait for one append request: room for a large write on a busy etcd (the watchdog, not this deadline, bounds how long we wait). */
  private get appendDeadlineMs(): number {
    return Math.max(10, 2 * this.options.leaseTtlSeconds) * 1000;
  }

  /** A transaction fenced on our leader key. */
  private appendTxn(epoch: number, deadlineMs = this.appendDeadlineMs) {
    return this.client.if(this.key("leader"), "Create", "==", String(epoch)).options({ deadline: Date.now() + deadlineMs });
  }

  /**
   * What a write whose change did not reach the log hears: Unavailable (with
   * the active one's address) when it certainly was not made; when etcd never
   * answered its append, DeadlineExceeded, since etcd may have committed it
   * after all (then the change stands, everywhere).
   */
  private lostError(uncertain = false): ConnectError {
    if (uncertain) {
      return new ConnectError(
        `NameNode ${this.options.advertiseAddress} lost leadership while etcd had not answered the change's append: it may or may not have been made; check before retrying on the active NameNode`,
        Code.DeadlineExceeded,
      );
    }
    return new ConnectError(
      `NameNode ${this.options.advertiseAddress} lost leadership before the change was durable; it was not made (retry on the active NameNode)`,
      Code.Unavailable,
      this.activeAddress && this.activeAddress !== this.options.advertiseAddress ? new Headers({ [ACTIVE_NAMENODE_HEADER]: this.activeAddress }) : undefined,
    );
  }

  // ---- membership, election and following ----

  private key(name: string): string {
    return `${this.options.prefix}${name}`;
  }

  private logKey(seq: number): string {
    return this.key(`log/${pad(seq)}`);
  }

  private partKey(seq: number, part: number): string {
    return this.key(`part/${pad(seq)}/${String(part).padStart(6, "0")}`);
  }

  private memberKey(): string {
    return this.key(`members/${encodeURIComponent(this.options.advertiseAddress)}`);
  }

  private async grantLease(): Promise<void> {
    const lease = this.client.lease(this.options.leaseTtlSeconds);
    this.leaseId = await lease.grant();
    this.lease = lease;
    this.lastPublished = "";
    lease.on("lost", (err) => {
      if (this.lease !== lease) return;
      this.logger.warn({ err: err.message }, "etcd lease lost");
      this.lease = undefined;
      this.demote("its etcd lease was lost");
      this.wake();
    });
  }

  private async watch(): Promise<void> {
    // Tried again at start when a member did not answer: no watch twice.
    for (const w of this.watchers.splice(0)) await w.cancel().catch(() => undefined);
    for (const name of ["leader", "head"]) {
      const watcher = await this.client.watch().key(this.key(name)).create();
      watcher.on("put", () => (name === "head" ? this.headMoved() : this.wake()));
      watcher.on("delete", () => this.wake());
      // The watch is only a wake-up call: the periodic round reads the state anyway.
      watcher.on("error", () => undefined);
      this.watchers.push(watcher);
    }
  }

  /**
   * The log's head moved. The active member moved it itself: nothing to do.
   * A standby follows, at most every FOLLOW_MS: one round applies whatever
   * was appended meanwhile, instead of three etcd reads and an LMDB commit
   * for each of the active one's appends (a failover waits seconds anyway).
   */
  private headMoved(): void {
    if (this.role === "active" || this.role === "resigning" || this.followTimer) return;
    const wait = this.lastTickMs + FOLLOW_MS - Date.now();
    if (wait <= 0) return this.wake();
    this.followTimer = setTimeout(() => {
      this.followTimer = undefined;
      this.wake();
    }, wait);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), ms);
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .then(() => {
        this.failedRounds = 0;
      })
      .catch((err: unknown) => {
        // Every round fails while etcd is away: say so once, then every 20 rounds (10 s).
        if (this.failedRounds++ % 20 === 0) this.logger.warn({ err: (err as Error).message, failedRounds: this.failedRounds }, "HA round failed");
      })
      .finally(() => {
        this.ticking = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        } else this.schedule(TICK_MS);
      });
  }

  private async tick(): Promise<void> {
    this.lastTickMs = Date.now();
    await this.transition;
    if (!this.lease) await this.grantLease();
    const asked = Date.now();
    const leader = await this.readLeader();
    if (this.role === "active") {
      if (!leader || leader.epoch !== this.epoch) {
        this.demote("its leader key is gone");
        return;
      }
      this.confirmedMs = asked;
      await this.publish();
      // Compaction may take a while on a big log: it must not delay the next confirmation of our leadership.
      this.compacting ??= this.compact()
        .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, "log compaction failed"))
        .finally(() => (this.compacting = undefined));
      return;
    }
    if (this.role === "resigning") return;
    if (leader?.address === this.options.advertiseAddress) {
      // Our own key from before we stepped down (etcd was out of reach, say):
      // our lease may still keep it, so give it up for a clean election.
      await this.client.if(this.key("leader"), "Create", "==", String(leader.epoch)).then(this.client.delete().key(this.key("leader"))).commit();
      this.holdCampaignUntil = 0;
      this.wake();
      return;
    }
    this.activeAddress = leader?.address ?? "";
    if (leader) this.epoch = leader.epoch;
    const synced = await this.catchUp(leader?.address);
    await this.publish();
    if (!leader && synced && Date.now() >= this.holdCampaignUntil && !(await this.yieldsToTarget())) await this.campaign();
  }

  private async readLeader(): Promise<{ address: string; epoch: number } | undefined> {
    const res = await this.client.get(this.key("leader")).exec();
    const kv = res.kvs[0];
    if (!kv) return undefined;
    return { address: (JSON.parse(kv.value.toString()) as { address: string }).address, epoch: Number(kv.create_revision) };
  }

  private async readHead(): Promise<{ seq: number; epoch: number; value: string; modRevision: string }> {
    const kv = (await this.client.get(this.key("head")).exec()).kvs[0];
    if (!kv) return { seq: 0, epoch: 0, value: "", modRevision: "0" };
    const value = kv.value.toString();
    return { ...(JSON.parse(value) as { seq: number; epoch: number }), value, modRevision: String(kv.mod_revision) };
  }

  /**
   * Brings the local copy to the log's head: from the log, or from the active
   * member's snapshot when the log no longer reaches back far enough (or the
   * copy may hold changes the log lacks). True when at the head.
   */
  private async catchUp(activeAddress: string | undefined): Promise<boolean> {
    const canCopy = activeAddress !== undefined && activeAddress !== this.options.advertiseAddress;
    let head = await this.readHead();
    if (!this.verified || this.needsResync) {
      const clusterId = await this.client.get(this.key("cluster-id")).string();
      const ok = !this.needsResync && clusterId === this.store.clusterId && (await this.prefixOfLog(head));
      if (!ok) {
        if (!canCopy) return false;
        await this.loadSnapshot(activeAddress);
        head = await this.readHead();
      }
      this.verified = true;
      this.needsResync = false;
    }
    while (this.store.appliedSeq < head.seq) {
      const from = this.store.appliedSeq + 1;
      const res = await this.client.getAll().inRange({ start: this.logKey(from), end: this.logKey(head.seq + 1) }).sort("Key", "Ascend").limit(APPLY_PAGE).exec();
      const entries = res.kvs.map((kv) => JSON.parse(kv.value.toString()) as { seq: number; epoch: number; ops: JournalOp[]; parts?: number });
      for (const entry of entries) {
        if (entry.parts === undefined) continue;
        const parts = await this.client.getAll().prefix(this.key(`part/${pad(entry.seq)}/`)).sort("Key", "Ascend").strings();
        const values = Object.values(parts as Record<string, string>);
        if (values.length !== entry.parts) throw new TrainfsError("internal", `log entry ${entry.seq} has ${values.length} of its ${entry.parts} parts`);
        entry.ops = values.flatMap((v) => JSON.parse(v) as JournalOp[]);
      }
      if (entries[0]?.seq !== from) {
        // Deleted: every live member had applied it, and we were not live.
        if (!canCopy) return false;
        await this.loadSnapshot(activeAddress);
        head = await this.readHead();
        continue;
      }
      await this.store.applyEntries(entries);
    }
    return this.store.appliedSeq === head.seq;
  }

  /**
   * Whether our LMDB holds exactly the log up to its seq: an entry we
   * committed as active but never appended must not survive. The entry at
   * our seq must carry our epoch; once deleted, the epoch's range of seqs
   * (`epochs/`) tells.
   */
  private async prefixOfLog(head: { seq: number; epoch: number }): Promise<boolean> {
    const seq = this.store.appliedSeq;
    const epoch = this.store.appliedEpoch;
    if (seq === 0) return true;
    if (seq > head.seq) return false;
    const entry = await this.client.get(this.logKey(seq)).string();
    if (entry) return (JSON.parse(entry) as { epoch: number }).epoch === epoch;
    const epochs = (await this.client.getAll().prefix(this.key("epochs/")).sort("Key", "Ascend").strings()) as Record<string, string>;
    const starts = Object.entries(epochs).map(([k, v]) => ({ epoch: Number(k.slice(this.key("epochs/").length)), first: (JSON.parse(v) as { firstSeq: number }).firstSeq }));
    const mine = starts.findIndex((s) => s.epoch === epoch);
    if (mine < 0) return false;
    const next = starts[mine + 1];
    return seq >= starts[mine]!.first - 1 && (next === undefined || seq < next.first);
  }

  private async loadSnapshot(address: string): Promise<void> {
    const headers: Record<string, string> = {};
    if (this.options.clusterSecret) headers.authorization = `Bearer ${dataNodeCredential(this.options.clusterSecret)}`;
    const res = await fetch(new URL(SNAPSHOT_PATH, address), { headers, signal: AbortSignal.timeout(10 * 60_000) });
    if (!res.ok) throw new TrainfsError("unavailable", `the snapshot from ${address} failed: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    const lines = (await res.text()).split("\n").filter((l) => l.length > 0);
    const first = JSON.parse(lines[0] ?? "{}") as { seq?: number; epoch?: number };
    if (typeof first.seq !== "number" || typeof first.epoch !== "number") throw new TrainfsError("unavailable", `the snapshot from ${address} has no header`);
    const rows = lines.slice(1).map((l) => JSON.parse(l) as [string, import("lmdb").Key, unknown]);
    await this.store.loadSnapshot(first.seq, first.epoch, rows);
    this.snapshotsLoaded++;
    this.logger.info({ from: address, seq: first.seq, records: rows.length }, "metadata loaded from the active NameNode's snapshot");
  }

  /** After a failover request naming another member, the others leave it the first try. */
  private async yieldsToTarget(): Promise<boolean> {
    const value = await this.client.get(this.key("failover-target")).string();
    if (!value) return false;
    const target = JSON.parse(value) as { address: string; untilMs: number };
    return target.address !== this.options.advertiseAddress && Date.now() < target.untilMs;
  }

  private async campaign(): Promise<void> {
    if (!this.lease) return;
    const leaderKey = this.key("leader");
    const res = await this.client
      .if(leaderKey, "Create", "==", 0)
      .then(this.client.put(leaderKey).value(JSON.stringify({ address: this.options.advertiseAddress })).lease(this.leaseId))
      .commit();
    if (!res.succeeded) return;
    const epoch = Number(res.header.revision);
    // From this revision the previous active one is fenced: the log is final
    // up to its head. Reach it, then serve.
    let ready = false;
    try {
      ready = await this.catchUp(undefined);
      if (ready) {
        const head = await this.readHead();
        this.headRevision = head.modRevision;
        const noted = await this.client
          .if(leaderKey, "Create", "==", String(epoch))
          .then(this.client.put(this.key(`epochs/${pad(epoch)}`)).value(JSON.stringify({ firstSeq: head.seq + 1 })))
          .commit();
        ready = noted.succeeded;
      }
    } catch (err) {
      this.logger.warn({ err }, "elected but cannot reach the log's head");
      ready = false;
    }
    if (!ready) {
      await this.client.if(leaderKey, "Create", "==", String(epoch)).then(this.client.delete().key(leaderKey)).commit().catch(() => undefined);
      this.holdCampaignUntil = Date.now() + this.options.leaseTtlSeconds * 1000;
      return;
    }
    this.epoch = epoch;
    this.activeAddress = this.options.advertiseAddress;
    this.appendedSeq = this.store.appliedSeq;
    this.steppedDown = new Promise((resolve) => (this.stepDown = resolve));
    // Nobody may be left with an unhandled rejection when nothing waits on it.
    void this.steppedDown.catch(() => undefined);
    this.confirmedMs = Date.now();
    this.role = "active";
    this.logger.info({ epoch, appliedSeq: this.store.appliedSeq }, "this NameNode is now the active one");
    this.transition = this.transition.then(() => this.hooks.promote()).catch((err: unknown) => this.logger.error({ err }, "promotion failed"));
    await this.transition;
    await this.publish(true);
  }

  /** Stops being active: no more writes or appends; background work stops. */
  private demote(reason: string): void {
    if (this.role !== "active" && this.role !== "resigning") return;
    const wasResigning = this.role === "resigning";
    this.role = "standby";
    this.stepDown();
    // The next round checks the LMDB (rolled back to what was appended) against the log.
    this.verified = false;
    this.activeAddress = "";
    this.holdCampaignUntil = Date.now() + this.options.leaseTtlSeconds * 1000;
    for (const b of this.queue.splice(0)) b.reject(this.lostError());
    if (!wasResigning) this.logger.warn({ reason, unappended: this.store.appliedSeq - this.appendedSeq }, "this NameNode is now a standby");
    this.transition = this.transition
      .then(async () => {
        await this.hooks.demote();
        // Changes committed here but not appended never happened for the cluster: take them back.
        const undone = await this.store.rollbackUnappended();
        if (undone > 0) this.logger.warn({ undone, seq: this.store.appliedSeq }, "changes that never reached the log were undone");
      })
      .catch((err: unknown) => {
        this.needsResync = true;
        this.logger.error({ err }, "demotion failed: the metadata will be reloaded from the active NameNode");
      });
    this.lastPublished = "";
  }

  private async publish(force = false): Promise<void> {
    if (!this.lease) return;
    const value = JSON.stringify({ address: this.options.advertiseAddress, role: this.currentRole, appliedSeq: this.store.appliedSeq });
    const due = Date.now() - this.lastPublishMs >= PUBLISH_MS;
    if (!force && (value === this.lastPublished || !due)) return;
    await this.client.put(this.memberKey()).value(value).lease(this.leaseId).exec();
    this.lastPublished = value;
    this.lastPublishMs = Date.now();
  }

  private async readMembers(): Promise<HaMember[]> {
    const values = (await this.client.getAll().prefix(this.key("members/")).strings()) as Record<string, string>;
    this.members = Object.values(values)
      .map((v) => JSON.parse(v) as HaMember)
      .sort((a, b) => a.address.localeCompare(b.address));
    return this.members;
  }

  /**
   * The active member deletes the log entries every live member has applied
   * (a member far behind holds back at most MAX_RETAINED_ENTRIES), old epoch
   * markers, and etcd's history of them, so etcd's size follows the members'
   * lag, not the number of changes ever made.
   */
  private async compact(): Promise<void> {
    if (Date.now() - this.lastCompactMs < COMPACT_MS) return;
    this.lastCompactMs = Date.now();
    const members = await this.readMembers();
    let upTo = this.appendedSeq;
    for (const m of members) if (m.address !== this.options.advertiseAddress) upTo = Math.min(upTo, m.appliedSeq);
    upTo = Math.max(upTo, this.appendedSeq - MAX_RETAINED_ENTRIES);
    if (upTo <= 0) return;
    const deleted = await this.client.delete().inRange({ start: this.logKey(0), end: this.logKey(upTo + 1) }).exec();
    await this.client.delete().inRange({ start: this.key(`part/${pad(0)}`), end: this.key(`part/${pad(upTo + 1)}`) }).exec();
    const epochs = await this.client.getAll().prefix(this.key("epochs/")).sort("Key", "Descend").keys();
    if (epochs.length > EPOCHS_KEPT) {
      const oldest = epochs[EPOCHS_KEPT - 1]!;
      await this.client.delete().inRange({ start: this.key("epochs/"), end: oldest }).exec();
    }
    const revision = deleted.header.revision;
    // History older than now is of no use to anyone: our watches start at the present.
    await this.client.kv.compact({ revision }).catch((err: unknown) => {
      if (!/compacted/.test(String(err))) throw err;
    });
  }

  // ---- operator calls ----

  local(): Omit<HaStatus, "members"> {
    return {
      role: this.currentRole,
      advertiseAddress: this.options.advertiseAddress,
      activeAddress: this.activeAddress,
      epoch: this.epoch,
      appliedSeq: this.store.appliedSeq,
    };
  }

  async status(): Promise<HaStatus> {
    // Answered even when etcd is not: the members as last read.
    const members = await Promise.race([this.readMembers(), sleep(1000).then(() => this.members)]).catch(() => this.members);
    return {
      ...this.local(),
      members,
    };
  }

  /**
   * Resigns leadership (Failover): new writes are refused, the ones under way
   * are appended, then the leader key goes; answers once another member is
   * active (the target, when named).
   */
  async failover(target: string | undefined, timeoutMs = (2 * this.options.leaseTtlSeconds + 5) * 1000): Promise<{ activeAddress: string; epoch: number }> {
    if (this.role !== "active") throw this.standbyError();
    if (target === this.options.advertiseAddress) throw new TrainfsError("invalid_argument", `${target} is already the active NameNode`);
    const members = await this.readMembers();
    const others = members.filter((m) => m.address !== this.options.advertiseAddress);
    if (target !== undefined && !others.some((m) => m.address === target)) {
      throw new TrainfsError("failed_precondition", `no live NameNode ${target} in this cluster; live members: ${members.map((m) => m.address).join(", ")}`);
    }
    if (others.length === 0) throw new TrainfsError("failed_precondition", "no standby NameNode is live: nobody could take over");
    this.role = "resigning";
    await this.settle();
    const epoch = this.epoch;
    const hold = Date.now() + 2 * this.options.leaseTtlSeconds * 1000;
    const ops = [this.client.delete().key(this.key("leader"))];
    if (target) ops.push(this.client.put(this.key("failover-target")).value(JSON.stringify({ address: target, untilMs: hold })).lease(this.leaseId) as never);
    try {
      await this.client.if(this.key("leader"), "Create", "==", String(epoch)).then(...ops).commit();
    } finally {
      // Resigned or not (etcd unreachable), this member stops serving: the lease decides from here.
      this.demote("failover requested");
    }
    this.holdCampaignUntil = hold;
    this.logger.info({ target: target ?? "any standby" }, "resigned leadership on request");
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await this.readLeader();
      if (leader && leader.address !== this.options.advertiseAddress && (!target || leader.address === target)) {
        this.activeAddress = leader.address;
        this.epoch = leader.epoch;
        return { activeAddress: leader.address, epoch: leader.epoch };
      }
      await sleep(100);
    }
    throw new TrainfsError("deadline_exceeded", `no NameNode took over within ${Math.round(timeoutMs / 1000)} s after this one resigned; the members will elect one when they can`);
  }

  /**
   * Lets the writes under way reach the log before resigning, for at most a
   * lease TTL (etcd may be away: demotion then fails the rest).
   */
  private async settle(): Promise<void> {
    const settled = (async () => {
      await this.store.writesSettled();
      await this.appending;
    })();
    await Promise.race([settled, sleep(this.options.leaseTtlSeconds * 1000)]);
  }

  /** Serves a snapshot (the active member only); `undefined` when this member is not active. */
  async snapshotFor(headers: Headers | Record<string, string | string[] | undefined>): Promise<{ status: number; lines?: () => Generator<string>; done?: () => void; message?: string }> {
    if (this.options.clusterSecret) {
      const raw = headers instanceof Headers ? headers.get("authorization") : headers.authorization;
      if (raw !== `Bearer ${dataNodeCredential(this.options.clusterSecret)}`) return { status: 401, message: "the snapshot needs the cluster's credential\n" };
    }
    if (this.role !== "active") return { status: 503, message: `${this.standbyError().rawMessage}\n` };
    const snap = await this.store.snapshot();
    // Writes settled because this member stepped down meanwhile: its LMDB may
    // hold changes about to be undone, which no standby may copy.
    if (this.role !== "active" || snap.seq !== this.appendedSeq) {
      snap.done();
      return { status: 503, message: `${this.standbyError().rawMessage}\n` };
    }
    const header = JSON.stringify({ seq: snap.seq, epoch: snap.epoch, clusterId: this.store.clusterId });
    return {
      status: 200,
      *lines() {
        yield header;
        yield* snap.lines();
      },
      done: snap.done,
    };
  }

  /** Leaves the cluster: resigns if active (so that another member takes over at once), revokes the lease. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const wasActive = this.role === "active";
    if (wasActive) {
      this.role = "resigning";
      await this.settle();
    }
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.followTimer);
    clearInterval(this.watchdog);
    await this.ticking;
    await this.compacting;
    for (const w of this.watchers) await w.cancel().catch(() => undefined);
    if (wasActive) {
      await this.client.if(this.key("leader"), "Create", "==", String(this.epoch)).then(this.client.delete().key(this.key("leader"))).commit().catch(() => undefined);
      this.demote("stopping");
    }
    await this.transition;
    this.store.setReplicator(undefined);
    const lease = this.lease;
    this.lease = undefined;
    await lease?.revoke().catch(() => undefined);
    this.client.close();
  }

  /** Simulates a crash for tests: stops everything without resigning or revoking (the lease then expires on its own). */
  async abandon(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.followTimer);
    clearInterval(this.watchdog);
    await this.ticking;
    const lease = this.lease;
    this.lease = undefined;
    lease?.release();
    for (const w of this.watchers) await w.cancel().catch(() => undefined);
    this.role = "standby";
    await this.hooks.demote().catch(() => undefined);
    this.client.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
