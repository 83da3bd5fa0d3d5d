import { createHmac } from "node:crypto";
import { TrainfsError } from "./errors.js";

/** Shorter secrets are refused: they could be guessed offline from one token. */
export const MIN_SECRET_LENGTH = 16;

/**
 * Keys for separate purposes derived from the one cluster secret, so that
 * what travels on the wire (the DataNodes' credential) never lets anyone
 * forge chunk tokens, which are signed with another derived key.
 */
export function deriveKey(secret: string, purpose: "datanode-credential" | "chunk-token" | "chunk-receipt"): Buffer {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new TrainfsError("invalid_argument", `the cluster secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return createHmac("sha256", secret).update(`trainfs/v1/${purpose}`).digest();
}

/** What a DataNode presents to its NameNode, as `authorization: Bearer <credential>`. */
export function dataNodeCredential(secret: string): string {
  return deriveKey(secret, "datanode-credential").toString("base64url");
}

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
