import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
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

/** A private CA's files, and the means to issue certificates from it (etcd's TLS in the kit). */
export interface CertificateAuthority {
  /** The CA certificate (PEM file): what both sides trust. */
  caFile: string;
  /** A certificate and key for `ips`, usable by servers and as a client (etcd members use one for both, peers included). */
  issue(name: string, options: { commonName: string; ips?: string[] }): Promise<{ certFile: string; keyFile: string }>;
}

/**
 * A new CA in `dir` (its key mode 600, beside the certificates it issues).
 * Certificates are ECDSA P-256, valid for a year: enough for a test or a
 * local cluster, which makes a new CA when its directory is new.
 */
export async function createCertificateAuthority(dir: string): Promise<CertificateAuthority> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await generate([{ name: "commonName", value: "trainfs-local-ca" }], {
    keyType: "ec",
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true },
    ],
  });
  const caFile = join(dir, "ca.pem");
  await writeFile(caFile, ca.cert);
  await writeFile(join(dir, "ca-key.pem"), ca.private, { mode: 0o600 });
  return {
    caFile,
    async issue(name, { commonName, ips = [] }) {
      const pems = await generate([{ name: "commonName", value: commonName }], {
        keyType: "ec",
        algorithm: "sha256",
        ca: { key: ca.private, cert: ca.cert },
        extensions: [
          { name: "basicConstraints", cA: false },
          { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
          { name: "extKeyUsage", serverAuth: true, clientAuth: true },
          ...(ips.length > 0 ? [{ name: "subjectAltName" as const, altNames: ips.map((ip) => ({ type: 7 as const, ip })) }] : []),
        ],
      });
      const certFile = join(dir, `${name}.pem`);
      const keyFile = join(dir, `${name}-key.pem`);
      await writeFile(certFile, pems.cert);
      await writeFile(keyFile, pems.private, { mode: 0o600 });
      return { certFile, keyFile };
    },
  };
}
