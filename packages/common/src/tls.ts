import { readFileSync } from "node:fs";
import { TrainfsError } from "@trainfs/core";

/** A server's certificate chain and private key, PEM. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the PEM files named by the `tlsCert` and `tlsKey` settings. Both or
 * neither: a certificate without its key (or the reverse) is a configuration
 * error, not a silent fallback to cleartext.
 */
export function loadServerTls(settings: { tlsCert?: string | undefined; tlsKey?: string | undefined }): ServerTls | undefined {
  const { tlsCert, tlsKey } = settings;
  if (!tlsCert && !tlsKey) return undefined;
  if (!tlsCert || !tlsKey) {
    throw new TrainfsError("invalid_argument", "TLS needs both tlsCert and tlsKey (PEM files); only one is set");
  }
  return { cert: readPem(tlsCert, "tlsCert"), key: readPem(tlsKey, "tlsKey") };
}

/** Reads a PEM file of trusted certificates (`tlsCaFile`, `--ca-file`). */
export function loadCa(path: string | undefined): Buffer | undefined {
  return path ? readPem(path, "CA file") : undefined;
}

/** A client's TLS files: the roots to trust and its own certificate and key (both or neither). */
export function loadClientTls(
  files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined },
  names: { ca: string; cert: string; key: string },
): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if (!files.cert !== !files.key) {
    throw new TrainfsError("invalid_argument", `a client certificate needs both ${names.cert} and ${names.key} (PEM files); only one is set`);
  }
  return {
    ...(files.ca ? { ca: readPem(files.ca, names.ca) } : {}),
    ...(files.cert && files.key ? { cert: readPem(files.cert, names.cert), key: readPem(files.key, names.key) } : {}),
  };
}

function readPem(path: string, what: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new TrainfsError("invalid_argument", `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  if (!pem.toString("latin1").includes("-----BEGIN ")) {
    throw new TrainfsError("invalid_argument", `${what} ${path} is not a PEM file`);
  }
  return pem;
}
