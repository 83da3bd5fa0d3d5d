import { Code, ConnectError } from "@connectrpc/connect";
import { currentRequestId, withRequestId } from "@trainfs/node";

/** The outcome of one item of a batched call: code 0 and the answer, or a refusal. */
export interface BatchOutcome<Res> {
  code: number;
  message: string;
  answer?: Res | undefined;
}

export interface BatchedRpc<Req, Res> {
  /** The plain call, for an item that goes alone. */
  single: (req: Req, signal: AbortSignal | undefined) => Promise<Res>;
  /** The batched call: one outcome per item, in order; `requestIds` names each item's operation. */
  batch: (reqs: Req[], requestIds: string[]) => Promise<Array<BatchOutcome<Res>>>;
}

/** Items sent in one batched call at most (the NameNode's limit). */
const MAX_BATCH = 1000;

interface Waiting<Req, Res> {
  req: Req;
  requestId: string;
  resolve: (res: Res) => void;
  reject: (err: unknown) => void;
  settled: boolean;
}

/**
 * One kind of NameNode call (PutFile, ConfirmFile) with one call in flight:
 * the calls made in one turn of the event loop while the line is free go
 * together at the end of that turn (setImmediate, not a time window), and
 * the calls that queue up while one is in flight go together in the next
 * (PutFiles, ConfirmFiles). A lone call is sent as itself; with many small
 * puts in flight one Connect call serves many of them, the way the
 * DataNodes' commits share calls. Each caller gets its own outcome, under
 * its own request id; an aborted caller is let go at once.
 */
export class CallBatcher<Req, Res> {
  private queue: Array<Waiting<Req, Res>> = [];
  private sending = false;

  constructor(private readonly rpc: BatchedRpc<Req, Res>) {}

  call(req: Req, signal?: AbortSignal): Promise<Res> {
    if (signal?.aborted) return Promise.reject(new ConnectError("the operation was aborted", Code.Canceled));
    if (!this.sending) {
      this.sending = true;
      setImmediate(() => void this.drain());
    }
    return new Promise<Res>((resolve, reject) => {
      const waiting: Waiting<Req, Res> = { req, requestId: currentRequestId() ?? "", resolve, reject, settled: false };
      const onAbort = () => {
        const i = this.queue.indexOf(waiting);
        if (i >= 0) this.queue.splice(i, 1);
        settle(waiting, () => reject(new ConnectError("the operation was aborted", Code.Canceled)));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      waiting.resolve = (res) => settle(waiting, () => (signal?.removeEventListener("abort", onAbort), resolve(res)));
      waiting.reject = (err) => settle(waiting, () => (signal?.removeEventListener("abort", onAbort), reject(err)));
      this.queue.push(waiting);
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        if (batch.length === 1) {
          const [w] = batch as [Waiting<Req, Res>];
          const call = () => this.rpc.single(w.req, undefined);
          w.resolve(await (w.requestId ? withRequestId(w.requestId, call) : call()));
          continue;
        }
        const outcomes = await this.rpc.batch(
          batch.map((w) => w.req),
          batch.map((w) => w.requestId),
        );
        batch.forEach((w, i) => {
          const o = outcomes[i];
          if (!o) w.reject(new ConnectError("the NameNode gave no outcome for a batched call", Code.Internal));
          else if (o.code !== 0 || o.answer === undefined) w.reject(new ConnectError(o.message, (o.code || Code.Internal) as Code));
          else w.resolve(o.answer);
        });
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.sending = false;
  }
}

function settle<Req, Res>(w: Waiting<Req, Res>, action: () => void): void {
  if (w.settled) return;
  w.settled = true;
  action();
}
