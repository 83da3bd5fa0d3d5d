import type { Interceptor } from "@connectrpc/connect";
import { TrainfsError } from "./errors.js";

export const AUTHORIZATION_HEADER = "authorization";

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** The token of an `authorization: Bearer <token>` header; undefined when absent. */
export function bearerToken(headers: Headers): string | undefined {
  const value = headers.get(AUTHORIZATION_HEADER);
  if (value === null) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  if (!match) throw new TrainfsError("unauthenticated", "the authorization header must be `Bearer <token>`");
  return match[1];
}

/** Adds `authorization: Bearer <token>` to every call while `token()` gives one (it may change between calls). */
export function bearerInterceptor(token: () => string | undefined): Interceptor {
  return (next) => (req) => {
    const t = token();
    if (t) req.header.set(AUTHORIZATION_HEADER, bearer(t));
    return next(req);
  };
}
