import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";

/**
 * One id per client operation (a put, a get, a listing), carried in this
 * header on every call it makes: to the NameNode, to the head DataNode, and
 * by each DataNode to the next of the chain and to the NameNode. Every log
 * line written while serving such a call has it as `reqId`, so one grep
 * follows a put across all the nodes.
 */
export const REQUEST_ID_HEADER = "x-request-id";
const VALID = /^[A-Za-z0-9._:-]{1,64}$/;
const current = new AsyncLocalStorage<string>();

export function newRequestId(): string {
  return randomBytes(8).toString("hex");
}

/** The request id of the operation this code runs for, if any. */
export function currentRequestId(): string | undefined {
  return current.getStore();
}

/** Runs `fn` (and everything it starts) as part of the operation `id`. */
export function withRequestId<T>(id: string, fn: () => T): T {
  return current.run(id, fn);
}

/** The caller's request id when it is a valid one, else a new one. */
export function requestIdFrom(given: string | null | undefined): string {
  return given && VALID.test(given) ? given : newRequestId();
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
