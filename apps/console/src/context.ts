import type { TrainfsWebClient } from "@trainfs/client/web";
import type { Connection } from "./connection.js";
import { describeError } from "./errors.js";

/** What every view works with: the SDK, the NameNode's reachability, and the error banner. */
export interface ConsoleContext {
  client: TrainfsWebClient;
  connection: Connection;
  /** Shows an error in the page's banner in the browser's words; undefined clears it. */
  showError(err: unknown, action?: string): void;
  /** Shows a line of news (an action's outcome) in the banner. */
  showNotice(text: string): void;
}

/** Runs a call to the NameNode, noting whether it answered (the "unreachable since" banner). */
export async function track<T>(ctx: ConsoleContext, fn: () => Promise<T>): Promise<T> {
  try {
    const result = await fn();
    ctx.connection.ok();
    return result;
  } catch (err) {
    if (describeError(err).unreachable) ctx.connection.unreachable();
    else ctx.connection.ok();
    throw err;
  }
}
