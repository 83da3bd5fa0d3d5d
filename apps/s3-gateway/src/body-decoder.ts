import { createHash, type Hash } from "node:crypto";
import { crc32 as zlibCrc32 } from "node:zlib";
import { Crc32c } from "@aws-crypto/crc32c";
import { S3Error } from "./s3-error.js";
import { chunkStringToSign, hmac, sameSignature, trailerStringToSign, type Authenticated } from "./sigv4.js";

/** Longest line of chunk metadata or trailer we accept (a signature line is about 90 bytes). */
const MAX_LINE = 4096;

/** How an aws-chunked body is signed. */
export interface ChunkSigning {
  key: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

/**
 * Decodes an `aws-chunked` body (`content-encoding: aws-chunked`): chunks of
 * `hex-size[;chunk-signature=…]\r\n<bytes>\r\n`, a last chunk of size 0, then
 * trailer lines (`x-amz-checksum-crc32:…`) and an empty line. With `signing`,
 * every chunk's signature is checked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)
 * before its bytes are passed on, and a signed trailer's signature too.
 * Yields the payload's bytes as they arrive, without copying them; the
 * trailers are handed to `onTrailers` at the end.
 */
export async function* decodeAwsChunked(
  source: AsyncIterable<Uint8Array>,
  o: { signing?: ChunkSigning | undefined; onTrailers?: (trailers: Map<string, string>) => void },
): AsyncGenerator<Buffer> {
  const input = new ByteQueue(source);
  let previous = o.signing?.seedSignature ?? "";
  for (;;) {
    const header = await input.line();
    if (header === undefined) throw new S3Error("IncompleteBody", "the aws-chunked body ended before its last (empty) chunk");
    const [sizeText, ...extensions] = header.split(";");
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText!.trim())) throw new S3Error("InvalidRequest", `malformed aws-chunked chunk header ${JSON.stringify(header.slice(0, 80))}`);
    const size = parseInt(sizeText!.trim(), 16);
    const signature = extensions.map((e) => e.trim()).find((e) => e.startsWith("chunk-signature="))?.slice("chunk-signature=".length);
    if (o.signing && !signature) throw new S3Error("SignatureDoesNotMatch", "a chunk of a signed aws-chunked body has no chunk-signature");
    const hash = o.signing ? createHash("sha256") : undefined;
    let left = size;
    // A signed chunk's bytes are held until its signature is checked, so
    // unverified bytes never reach a file; unsigned ones pass at once.
    const held: Buffer[] = [];
    while (left > 0) {
      const piece = await input.take(left);
      if (!piece) throw new S3Error("IncompleteBody", `the aws-chunked body ended inside a chunk (${left} bytes missing)`);
      left -= piece.length;
      if (hash) {
        hash.update(piece);
        held.push(piece);
      } else yield piece;
    }
    if (o.signing) {
      const expected = hmac(o.signing.key, chunkStringToSign(o.signing.amzDate, o.signing.scope, previous, hash!.digest("hex"))).toString("hex");
      if (!sameSignature(expected, signature!.toLowerCase())) throw new S3Error("SignatureDoesNotMatch", "a chunk signature of the aws-chunked body does not match");
      previous = expected;
      for (const piece of held) yield piece;
    }
    if (size === 0) break;
    const end = await input.line();
    if (end !== "") throw new S3Error("InvalidRequest", "an aws-chunked chunk is not followed by CRLF");
  }
  // Trailers, then an empty line (a body without trailers ends with the empty line).
  const trailers = new Map<string, string>();
  let trailerText = "";
  let trailerSignature: string | undefined;
  for (;;) {
    const line = await input.line();
    if (line === undefined || line === "") break;
    const i = line.indexOf(":");
    if (i <= 0) throw new S3Error("InvalidRequest", `malformed trailer line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (name === "x-amz-trailer-signature") trailerSignature = value;
    else {
      trailers.set(name, value);
      trailerText += `${name}:${value}\n`;
    }
  }
  if (o.signing && trailers.size > 0) {
    if (!trailerSignature) throw new S3Error("SignatureDoesNotMatch", "the trailer of a signed aws-chunked body has no x-amz-trailer-signature");
    const expected = hmac(o.signing.key, trailerStringToSign(o.signing.amzDate, o.signing.scope, previous, trailerText)).toString("hex");
    if (!sameSignature(expected, trailerSignature.toLowerCase())) throw new S3Error("SignatureDoesNotMatch", "the trailer signature of the aws-chunked body does not match");
  }
  if (await input.take(1)) throw new S3Error("InvalidRequest", "bytes follow the end of the aws-chunked body");
  o.onTrailers?.(trailers);
}

/** Reads lines and byte runs from a stream of buffers, slicing rather than copying. */
class ByteQueue {
  private readonly it: AsyncIterator<Uint8Array>;
  private head: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.it.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const data = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.head = this.head.length === 0 ? data : Buffer.concat([this.head, data]);
    return true;
  }

  /** Up to `max` bytes (at least one), or undefined at the end. */
  async take(max: number): Promise<Buffer | undefined> {
    while (this.head.length === 0) if (!(await this.fill())) return undefined;
    const n = Math.min(max, this.head.length);
    const out = this.head.subarray(0, n);
    this.head = this.head.subarray(n);
    return out;
  }

  /** A line without its CRLF, or undefined at the end. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const i = this.head.indexOf("\r\n");
      if (i >= 0) {
        const text = this.head.subarray(0, i).toString("latin1");
        this.head = this.head.subarray(i + 2);
        return text;
      }
      if (this.head.length > MAX_LINE) throw new S3Error("InvalidRequest", "an aws-chunked line is too long");
      if (!(await this.fill())) {
        if (this.head.length === 0) return undefined;
        throw new S3Error("IncompleteBody", "the aws-chunked body ended inside a line");
      }
    }
  }
}

export type ChecksumAlgorithm = "crc32" | "crc32c" | "sha256";
const CHECKSUM_HEADERS: Record<string, ChecksumAlgorithm> = {
  "x-amz-checksum-crc32": "crc32",
  "x-amz-checksum-crc32c": "crc32c",
  "x-amz-checksum-sha256": "sha256",
};

/** Computes CRC-32 (node:zlib), CRC-32C (@aws-crypto/crc32c) or SHA-256 incrementally, as S3's base64 checksum. */
class Checksum {
  private crc = 0;
  private readonly c32c = new Crc32c();
  private readonly sha?: Hash;
  constructor(readonly algorithm: ChecksumAlgorithm) {
    if (algorithm === "sha256") this.sha = createHash("sha256");
  }
  update(data: Buffer): void {
    if (this.algorithm === "crc32") this.crc = zlibCrc32(data, this.crc);
    else if (this.algorithm === "crc32c") this.c32c.update(data);
    else this.sha!.update(data);
  }
  base64(): string {
    if (this.sha) return this.sha.digest("base64");
    const value = this.algorithm === "crc32" ? this.crc >>> 0 : this.c32c.digest() >>> 0;
    const out = Buffer.alloc(4);
    out.writeUInt32BE(value);
    return out.toString("base64");
  }
}

/** What a body must match, from the request's headers. */
export interface BodyExpectations {
  /** Exact decoded length, when declared (content-length or x-amz-decoded-content-length). */
  length?: number | undefined;
  /** Base64 MD5 from Content-MD5. */
  contentMd5?: string | undefined;
  /** Hex SHA-256 from x-amz-content-sha256, when it is a hash. */
  sha256Hex?: string | undefined;
  /** x-amz-checksum-* given as headers. */
  checksums: Array<{ algorithm: ChecksumAlgorithm; value: string }>;
  /** Algorithms announced in x-amz-trailer, whose values come in the trailer. */
  trailerChecksums: ChecksumAlgorithm[];
  maxLength: number;
}

/** Parses the checksum headers of a request into what its body must match. */
export function bodyExpectations(headers: Record<string, string | string[] | undefined>, auth: Authenticated, maxLength: number): BodyExpectations {
  const h = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const chunked = auth.payloadHash.startsWith("STREAMING-");
  const declared = chunked ? h("x-amz-decoded-content-length") : h("content-length");
  let length: number | undefined;
  if (declared !== undefined) {
    if (!/^\d{1,16}$/.test(declared)) throw new S3Error("InvalidArgument", `the body length ${JSON.stringify(declared)} is not a number`);
    length = Number(declared);
    if (length > maxLength) throw new S3Error("EntityTooLarge", `the body is ${length} bytes; the most one PUT takes is ${maxLength}`);
  } else if (chunked) throw new S3Error("MissingContentLength", "an aws-chunked body needs x-amz-decoded-content-length");
  const contentMd5 = h("content-md5");
  if (contentMd5 !== undefined && Buffer.from(contentMd5, "base64").length !== 16) {
    throw new S3Error("InvalidDigest", "the Content-MD5 you specified is not a base64 MD5");
  }
  const checksums: BodyExpectations["checksums"] = [];
  for (const [name, algorithm] of Object.entries(CHECKSUM_HEADERS)) {
    const value = h(name);
    if (value !== undefined) checksums.push({ algorithm, value });
  }
  const trailer = h("x-amz-trailer");
  const trailerChecksums: ChecksumAlgorithm[] = [];
  for (const name of trailer ? trailer.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean) : []) {
    const algorithm = CHECKSUM_HEADERS[name];
    if (!algorithm) throw new S3Error("InvalidRequest", `the trailer ${name} is not supported (x-amz-checksum-crc32, -crc32c and -sha256 are)`);
    trailerChecksums.push(algorithm);
  }
  for (const name of ["x-amz-checksum-crc64nvme", "x-amz-checksum-sha1"]) {
    if (h(name) !== undefined) throw new S3Error("NotImplemented", `${name} is not supported; use x-amz-checksum-crc32, -crc32c or -sha256`);
  }
  const sha256Hex = /^[0-9a-f]{64}$/.test(auth.payloadHash) ? auth.payloadHash : undefined;
  if (!sha256Hex && !["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"].includes(auth.payloadHash)) {
    throw new S3Error("InvalidArgument", `x-amz-content-sha256 ${JSON.stringify(auth.payloadHash.slice(0, 80))} is neither a SHA-256 nor a payload mode this gateway knows`);
  }
  return { length, contentMd5, sha256Hex, checksums, trailerChecksums, maxLength };
}

/** The body's MD5 and length once it was read whole and every check passed, and the x-amz-checksum-* values it was checked against. */
export interface VerifiedBody {
  md5Hex: string;
  length: number;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/**
 * The request body's payload (aws-chunked decoded if it is), checked as it
 * passes: every declared digest and the length are compared at the end, and
 * a mismatch is thrown from the generator before it ends, so a write fed by
 * it is abandoned rather than confirmed. `done` holds the MD5 once through.
 */
export function verifiedBody(source: AsyncIterable<Uint8Array>, auth: Authenticated, expect: BodyExpectations): { bytes: AsyncGenerator<Buffer>; done: () => VerifiedBody | undefined } {
  let result: VerifiedBody | undefined;
  async function* run(): AsyncGenerator<Buffer> {
    let trailers = new Map<string, string>();
    const mode = auth.payloadHash;
    const payload: AsyncIterable<Buffer> = mode.startsWith("STREAMING-")
      ? decodeAwsChunked(source, {
          signing: mode.startsWith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") ? { key: auth.key, amzDate: auth.amzDate, scope: auth.scope, seedSignature: auth.seedSignature } : undefined,
          onTrailers: (t) => (trailers = t),
        })
      : (source as AsyncIterable<Buffer>);
    const md5 = createHash("md5");
    const sha = expect.sha256Hex ? createHash("sha256") : undefined;
    const sums = [...expect.checksums.map((c) => c.algorithm), ...expect.trailerChecksums].map((a) => new Checksum(a));
    let length = 0;
    for await (const data of payload) {
      length += data.length;
      if (length > (expect.length ?? expect.maxLength)) {
        throw expect.length === undefined
          ? new S3Error("EntityTooLarge", `the body is larger than the ${expect.maxLength} bytes one PUT takes`)
          : new S3Error("InvalidRequest", `the body is longer than the ${expect.length} bytes declared`);
      }
      md5.update(data);
      sha?.update(data);
      for (const s of sums) s.update(data);
      yield data;
    }
    if (expect.length !== undefined && length !== expect.length) {
      throw new S3Error("IncompleteBody", `the body has ${length} bytes, not the ${expect.length} declared`);
    }
    const md5Bytes = md5.digest();
    if (expect.contentMd5 !== undefined && md5Bytes.toString("base64") !== expect.contentMd5) {
      throw new S3Error("BadDigest", "the Content-MD5 you specified did not match what we received");
    }
    if (sha && sha.digest("hex") !== expect.sha256Hex) {
      throw new S3Error("XAmzContentSHA256Mismatch", "the provided x-amz-content-sha256 does not match what was computed");
    }
    const given = [
      ...expect.checksums.map((c) => ({ ...c, from: "header" })),
      ...expect.trailerChecksums.map((algorithm) => ({ algorithm, value: trailers.get(`x-amz-checksum-${algorithm}`), from: "trailer" })),
    ];
    const checksums: VerifiedBody["checksums"] = {};
    given.forEach((g, i) => {
      if (g.value === undefined) throw new S3Error("InvalidRequest", `the trailer announced x-amz-checksum-${g.algorithm} but did not carry it`);
      if (sums[i]!.base64() !== g.value) {
        throw new S3Error("BadDigest", `the ${g.algorithm.toUpperCase()} you specified (in the ${g.from}) did not match the calculated checksum`);
      }
      checksums[g.algorithm] = g.value;
    });
    result = { md5Hex: md5Bytes.toString("hex"), length, checksums };
  }
  return { bytes: run(), done: () => result };
}
