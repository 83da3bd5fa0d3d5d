import { createHash, createHmac } from "node:crypto";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { S3Credential } from "@trainfs/s3-gateway";

/** An AWS SDK client for a gateway with the SDK's default settings (CRC32 trailers included), path-style. */
export function s3Client(address: string, credential: Pick<S3Credential, "accessKeyId" | "secretAccessKey"> | undefined, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: address,
    region: "eu-west-3",
    forcePathStyle: true,
    ...(credential
      ? { credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey } }
      : // Anonymous: requests go unsigned.
        { credentials: { accessKeyId: "anonymous", secretAccessKey: "anonymous" }, signer: { sign: async (request) => request } }),
    ...extra,
  });
}

/** The S3 error code and HTTP status a call fails with. */
export async function s3Failure(p: Promise<unknown>): Promise<{ code: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; Code?: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { code: e.Code ?? e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error("expected the S3 call to fail, but it succeeded");
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

interface SignedRequest {
  method: string;
  path: string;
  query?: string;
  body?: Buffer;
  payloadHash?: string;
  date?: Date;
  headers?: Record<string, string>;
}

/** Signs a request's headers (SigV4, Authorization header); the key, scope and date for signing its chunks. */
function signHeaders(address: string, credential: Pick<S3Credential, "accessKeyId" | "secretAccessKey">, o: SignedRequest, body: Buffer) {
  const url = new URL(address);
  const date = (o.date ?? new Date()).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const payloadHash = o.payloadHash ?? sha256(body);
  const headers: Record<string, string> = { host: url.host, "x-amz-date": date, "x-amz-content-sha256": payloadHash, ...(o.headers ?? {}) };
  const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const query = (o.query ?? "").split("&").filter(Boolean).sort().join("&");
  const canonical = [o.method, o.path, query, names.map((n) => `${n}:${lower[n]}\n`).join(""), names.join(";"), payloadHash].join("\n");
  const scope = `${date.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const key = hmac(hmac(hmac(hmac(`AWS4${credential.secretAccessKey}`, date.slice(0, 8)), "us-east-1"), "s3"), "aws4_request");
  const signature = hmac(key, ["AWS4-HMAC-SHA256", date, scope, sha256(canonical)].join("\n")).toString("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credential.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  const { host: _, ...sent } = headers;
  return { sent, key, scope, date, signature };
}

async function send(address: string, o: SignedRequest, headers: Record<string, string>, body: Buffer): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${address}${o.path}${o.query ? `?${o.query}` : ""}`, { method: o.method, headers, body: body.length > 0 ? new Uint8Array(body) : undefined });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/**
 * A hand-signed request (SigV4 in the Authorization header), for what the
 * SDKs never send: a payload hash that lies, a stale date, a bad document.
 */
export async function signedFetch(
  address: string,
  credential: Pick<S3Credential, "accessKeyId" | "secretAccessKey">,
  o: SignedRequest,
): Promise<{ status: number; text: string; headers: Headers }> {
  const body = o.body ?? Buffer.alloc(0);
  return send(address, o, signHeaders(address, credential, o, body).sent, body);
}

const EMPTY_SHA256 = sha256("");

/**
 * A PUT whose body is STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, signed as
 * AWS specifies it: every chunk's signature chains from the request's, the
 * trailer (`trailer`, e.g. x-amz-checksum-crc32) is signed after the last
 * chunk. `tamper` changes what is sent after signing, to provoke errors.
 */
export async function signedTrailerPut(
  address: string,
  credential: Pick<S3Credential, "accessKeyId" | "secretAccessKey">,
  o: { path: string; chunks: Buffer[]; trailer: [string, string]; tamper?: { trailerSignature?: string; trailerValue?: string; chunkByte?: boolean } },
): Promise<{ status: number; text: string; headers: Headers }> {
  const length = o.chunks.reduce((n, c) => n + c.length, 0);
  const request: SignedRequest = {
    method: "PUT",
    path: o.path,
    payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    headers: { "content-encoding": "aws-chunked", "x-amz-decoded-content-length": String(length), "x-amz-trailer": o.trailer[0] },
  };
  const { sent, key, scope, date, signature } = signHeaders(address, credential, request, Buffer.alloc(0));
  let previous = signature;
  const parts: Buffer[] = [];
  for (const chunk of [...o.chunks, Buffer.alloc(0)]) {
    previous = hmac(key, ["AWS4-HMAC-SHA256-PAYLOAD", date, scope, previous, EMPTY_SHA256, sha256(chunk)].join("\n")).toString("hex");
    const bytes = o.tamper?.chunkByte && chunk.length > 0 ? Buffer.concat([chunk.subarray(0, -1), Buffer.from([chunk.at(-1)! ^ 1])]) : chunk;
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`), bytes, Buffer.from("\r\n"));
  }
  parts.pop(); // the last (empty) chunk is followed by the trailer, not by a CRLF of its own
  const [name, value] = o.trailer;
  const trailerSignature = hmac(key, ["AWS4-HMAC-SHA256-TRAILER", date, scope, previous, sha256(`${name}:${value}\n`)].join("\n")).toString("hex");
  parts.push(Buffer.from(`${name}:${o.tamper?.trailerValue ?? value}\r\nx-amz-trailer-signature:${o.tamper?.trailerSignature ?? trailerSignature}\r\n\r\n`));
  return send(address, request, sent, Buffer.concat(parts));
}

/** The <Code> of an S3 error document. */
export function errorCode(text: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
}
