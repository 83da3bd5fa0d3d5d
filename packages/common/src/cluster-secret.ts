import { createHmac } from "node:crypto";
import { TrainfsError } from "@trainfs/core";

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

// The header's helpers are universal (browsers send tokens too): @trainfs/core's authorization.ts.
