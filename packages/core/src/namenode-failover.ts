import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type ContextValues, type StreamResponse, type Transport, type UnaryResponse } from "@connectrpc/connect";
import { TrainfsError } from "./errors.js";

/**
 * The header a standby NameNode sets on its `unavailable` answers, naming
 * the active NameNode's address (docs/operations.md, "High availability").
 */
export const ACTIVE_NAMENODE_HEADER = "trainfs-active-namenode";

/** How long a call looks for an answering NameNode before giving up, unless told otherwise. */
export const DEFAULT_FAILOVER_TIMEOUT_MS = 30_000;

/**
 * Marks a call that changes something but may be repeated without harm
 * (e.g. mkdir with parents); set it in the call's `contextValues`. Reads
 * (`NO_SIDE_EFFECTS`) and idempotent methods are repeatable without it.
 */
export const REPEATABLE_CALL = createContextKey(false, { description: "the call may be sent again after a lost answer" });

const URL_FORM = /^https?:\/\/[^/\s,]+/;

/**
 * The NameNode addresses of a `namenode` setting: one URL, a comma-separated
 * list, or an array of URLs (trailing slashes dropped, duplicates once).
 * Throws invalid_argument naming the entry that is not an http(s) URL.
 */
export function parseNameNodeAddresses(value: string | readonly string[] | undefined): string[] {
  const entries = (typeof value === "string" ? value.split(",") : [...(value ?? [])]).map((s) => String(s).trim());
  const list = entries.filter((s) => s !== "");
  if (list.length === 0) {
    throw new TrainfsError("invalid_argument", `no NameNode address given: expected a URL like http://127.0.0.1:9870, or several separated by commas`);
  }
  const out: string[] = [];
  for (const entry of list) {
    if (!URL_FORM.test(entry)) {
      throw new TrainfsError("invalid_argument", `NameNode address ${JSON.stringify(entry)} is not an http(s) URL like http://127.0.0.1:9870`);
    }
    const address = entry.replace(/\/+$/, "");
    if (!out.includes(address)) out.push(address);
  }
  return out;
}

export interface NameNodeFailoverOptions {
  /** The NameNodes, in the order they are tried (at least one). */
  addresses: readonly string[];
  /** The transport to one NameNode (kept by the caller, one per address). */
  transportFor: (address: string) => Transport;
  /** How long one call keeps looking for an answering NameNode (default 30 s). */
  timeoutMs?: number | undefined;
  /** First pause once every NameNode has failed a call; doubled up to `maxDelayMs` (default 100 ms). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Told each time calls move to another NameNode (for logs). */
  onSwitch?: (from: string, to: string, reason: string) => void;
  /** For tests. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  now?: () => number;
}

/** What a failed call tells about where to send it next. */
type Failure =
  /** A standby refused it (nothing was done); `hint` is the active's address when it knows one. */
  | { kind: "refused"; hint: string | undefined }
  /** It never reached a NameNode (connection refused, name not resolved). */
  | { kind: "not-sent" }
  /** The connection failed with the call under way: it may have been done. */
  | { kind: "lost" }
  /** An answer of the NameNode's own: returned as it is. */
  | { kind: "answer" };

/** Errors of a connection never made: the call certainly did nothing. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);
const STANDBY_MESSAGE = /\bis a standby\b/;

/** Calls exhausted the time for looking for a NameNode: repeating them at once would only wait again. */
const exhausted = new WeakSet<object>();

/** True for the error of a call that already tried every NameNode for the whole failover time. */
export function isFailoverExhausted(err: unknown): boolean {
  return typeof err === "object" && err !== null && exhausted.has(err);
}

/**
 * "Which NameNode is active", for every client of the NameNode (the Node and
 * browser SDKs, the CLI, the S3 gateway, the console): a Connect transport
 * over one transport per listed NameNode that sends each call to the one
 * believed active and follows a failover by itself:
 * - `unavailable` from a standby (its `trainfs-active-namenode` header, or
 *   its "is a standby" message): the call is sent again at once to the named
 *   active, or to the next address (the standby did nothing, so any call);
 * - a connection that could not be made: the next address;
 * - a connection lost with the call under way: the next address only for a
 *   call that may be repeated (a read, an idempotent method, or one marked
 *   REPEATABLE_CALL), since the lost one may have been done; any other call
 *   fails with `unavailable` saying so, and the next call starts from the
 *   next address;
 * - once every address has failed, pauses grow (100 ms doubling up to 2 s)
 *   until `timeoutMs` is spent; then `unavailable` naming every address tried.
 * With one address, only the standby's hint is followed (a single NameNode
 * never gives one): every other failure is returned as it would be without
 * this transport.
 * Streaming calls (the NameNode has none today) go to the current NameNode
 * without failover.
 */
export class NameNodeFailover implements Transport {
  readonly addresses: readonly string[];
  private current: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: NameNodeFailoverOptions) {
    if (options.addresses.length === 0) throw new TrainfsError("invalid_argument", "no NameNode address given");
    this.addresses = [...options.addresses];
    this.current = this.addresses[0]!;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FAILOVER_TIMEOUT_MS;
    if (!(this.timeoutMs >= 0)) throw new TrainfsError("invalid_argument", `the failover timeout must be 0 ms or more, not ${this.timeoutMs}`);
  }

  /** The NameNode calls go to now (the last one that answered, or the one a standby named). */
  get active(): string {
    return this.current;
  }

  async unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>> {
    const now = this.options.now ?? Date.now;
    const deadline = now() + this.timeoutMs;
    const several = this.addresses.length > 1;
    const tried: Array<{ address: string; error: string }> = [];
    // Addresses failed since the last pause: reaching one of them again means a round is done.
    const failedSincePause = new Set<string>();
    let pauses = 0;
    let address = this.current;
    for (;;) {
      let failure: Failure;
      let error: ConnectError;
      try {
        const res = await this.options.transportFor(address).unary(method, signal, timeoutMs, header, input, contextValues);
        this.moveTo(address, "it answered");
        return res;
      } catch (err) {
        if (signal?.aborted) throw err;
        error = ConnectError.from(err);
        failure = classify(error);
        if (failure.kind === "answer") throw err;
        if (!several && !(failure.kind === "refused" && failure.hint && failure.hint !== address)) throw err;
        if (failure.kind === "lost" && !repeatable(method, contextValues)) {
          // It may have been done: not sent again, but the next call tries elsewhere.
          this.moveTo(this.nextAfter(address), `the connection to ${address} failed`);
          throw new ConnectError(
            `the connection to NameNode ${address} failed with ${method.name} under way (${error.rawMessage}); it was not sent again because it may have been done: check its effect before retrying`,
            Code.Unavailable,
            undefined,
            undefined,
            err,
          );
        }
      }
      tried.push({ address, error: error.rawMessage });
      failedSincePause.add(address);
      const hint = failure.kind === "refused" ? this.followable(failure.hint, address) : undefined;
      const next = hint ?? this.nextAfter(address);
      this.moveTo(next, hint ? `${address} is a standby; the active is ${hint}` : `${address} failed: ${error.rawMessage}`);
      if (failedSincePause.has(next)) {
        const maxDelay = this.options.maxDelayMs ?? 2000;
        const delay = Math.min(maxDelay, (this.options.baseDelayMs ?? 100) * 2 ** pauses) * (0.75 + Math.random() / 4);
        if (now() + delay > deadline) throw this.giveUp(tried, error);
        pauses++;
        failedSincePause.clear();
        await (this.options.sleep ?? pause)(delay, signal);
        if (signal?.aborted) throw error;
      } else if (now() > deadline) {
        throw this.giveUp(tried, error);
      }
      address = this.current;
    }
  }

  stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
    contextValues?: ContextValues,
  ): Promise<StreamResponse<I, O>> {
    return this.options.transportFor(this.current).stream(method, signal, timeoutMs, header, input, contextValues);
  }

  private moveTo(address: string, reason: string): void {
    if (address === this.current) return;
    const from = this.current;
    this.current = address;
    this.options.onSwitch?.(from, address, reason);
  }

  private nextAfter(address: string): string {
    const i = this.addresses.indexOf(address);
    return this.addresses[(i + 1) % this.addresses.length]!;
  }

  /**
   * The hinted active, if calls may go there: one of the listed addresses,
   * or another one of no weaker scheme (the API token is sent to it, so an
   * https list is never led to plain http).
   */
  private followable(hint: string | undefined, from: string): string | undefined {
    if (!hint) return undefined;
    const address = hint.trim().replace(/\/+$/, "");
    if (!URL_FORM.test(address) || address === from) return undefined;
    if (this.addresses.includes(address)) return address;
    return from.startsWith("https:") && !address.startsWith("https:") ? undefined : address;
  }

  private giveUp(tried: Array<{ address: string; error: string }>, last: ConnectError): ConnectError {
    const seen = new Map<string, string>();
    for (const t of tried) seen.set(t.address, t.error);
    const list = [...seen].map(([address, error]) => `${address} (${error})`).join(", ");
    const err = new ConnectError(
      `no active NameNode answered within ${this.timeoutMs % 1000 === 0 ? `${this.timeoutMs / 1000} s` : `${this.timeoutMs} ms`}; tried ${list}`,
      Code.Unavailable,
      undefined,
      undefined,
      last,
    );
    exhausted.add(err);
    return err;
  }
}

function classify(err: ConnectError): Failure {
  let fromServer = false;
  err.metadata.forEach(() => (fromServer = true));
  if (err.code === Code.Unavailable && fromServer) {
    const hint = err.metadata.get(ACTIVE_NAMENODE_HEADER) ?? undefined;
    if (hint || STANDBY_MESSAGE.test(err.rawMessage)) return { kind: "refused", hint: hint || undefined };
  }
  if (causeCodes(err).some((c) => NOT_SENT_CODES.has(c))) return { kind: "not-sent" };
  // An HTTP/2 stream the server refused before reading it (RFC 9113, 8.7).
  if (/REFUSED_STREAM/.test(err.rawMessage)) return { kind: "not-sent" };
  if (fromServer) return { kind: "answer" };
  // No answer came: a connection reset or closed, a fetch that failed (browsers say no more).
  // (Canceled too: the caller's own cancellation is handled before; this is a stream the server's end closed.)
  if ([Code.Unavailable, Code.Aborted, Code.Unknown, Code.Internal, Code.Canceled].includes(err.code)) return { kind: "lost" };
  return { kind: "answer" };
}

/** The `code` properties along an error's chain of causes (Node's errno names: ECONNREFUSED ...). */
function causeCodes(err: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (typeof e === "object" && e !== null && !seen.has(e)) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    const errors = (e as { errors?: unknown }).errors; // AggregateError (a name with several addresses)
    if (Array.isArray(errors)) for (const x of errors) codes.push(...causeCodes(x));
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** Reads, idempotent methods, and calls marked REPEATABLE_CALL. */
function repeatable(method: { idempotency?: number }, contextValues: ContextValues | undefined): boolean {
  // MethodOptions.IdempotencyLevel: 1 = NO_SIDE_EFFECTS, 2 = IDEMPOTENT.
  if (method.idempotency === 1 || method.idempotency === 2) return true;
  return contextValues?.get(REPEATABLE_CALL) === true;
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
