import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";

/** A self-signed certificate for 127.0.0.1 and its key, as PEM files, with the PEM to trust. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** The certificate's PEM: what clients pass as `ca`. */
  ca: string;
}

/**
 * Makes a certificate valid for 127.0.0.1 (an IP SAN) that is its own CA,
 * written to `dir` (a new temporary directory when unset). npm's `selfsigned`,
 * so tests need no openssl.
 */
export async function generateTls(dir?: string): Promise<TlsFiles> {
  const where = dir ?? (await mkdtemp(join(tmpdir(), "trainfs-tls-")));
  const pems = await generate([{ name: "commonName", value: "trainfs-test" }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] },
    ],
  });
  const certFile = join(where, "cert.pem");
  const keyFile = join(where, "key.pem");
  await writeFile(certFile, pems.cert);
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  return { certFile, keyFile, ca: pems.cert };
}
