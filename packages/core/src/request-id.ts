/**
 * One id per client operation (a put, a get, a listing), carried in this
 * header on every call it makes: to the NameNode, to the head DataNode, and
 * by each DataNode to the next of the chain and to the NameNode. Every log
 * line written while serving such a call has it as `reqId`, so one grep
 * follows a put across all the nodes. (Node keeps the current one in an
 * AsyncLocalStorage: @trainfs/node's request-context.ts.)
 */
export const REQUEST_ID_HEADER = "x-request-id";
const VALID = /^[A-Za-z0-9._:-]{1,64}$/;

/** 16 hex digits from `crypto.getRandomValues`, which browsers and Node both have. */
export function newRequestId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The caller's request id when it is a valid one, else a new one. */
export function requestIdFrom(given: string | null | undefined): string {
  return given && VALID.test(given) ? given : newRequestId();
}
