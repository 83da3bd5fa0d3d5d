import { AsyncLocalStorage } from "node:async_hooks";
import type { Interceptor } from "@connectrpc/connect";
import { REQUEST_ID_HEADER, requestIdFrom } from "@trainfs/core";

/**
 * The request id (@trainfs/core's request-id.ts) of the operation the
 * running code serves, kept across awaits, so that every call it makes
 * carries it and every log line names it without passing it around.
 */
const current = new AsyncLocalStorage<string>();

/** The request id of the operation this code runs for, if any. */
export function currentRequestId(): string | undefined {
  return current.getStore();
}

/** Runs `fn` (and everything it starts) as part of the operation `id`. */
export function withRequestId<T>(id: string, fn: () => T): T {
  return current.run(id, fn);
}

/** Server side: takes the caller's id (or makes one), answers with it, and serves the call under it. */
export function requestIdServerInterceptor(): Interceptor {
  return (next) => async (req) => {
    const id = requestIdFrom(req.header.get(REQUEST_ID_HEADER));
    const res = await current.run(id, () => next(req));
    res.header.set(REQUEST_ID_HEADER, id);
    return res;
  };
}

/** Client side: calls made for an operation carry its id. */
export function requestIdClientInterceptor(): Interceptor {
  return (next) => (req) => {
    const id = current.getStore();
    if (id && !req.header.has(REQUEST_ID_HEADER)) req.header.set(REQUEST_ID_HEADER, id);
    return next(req);
  };
}
