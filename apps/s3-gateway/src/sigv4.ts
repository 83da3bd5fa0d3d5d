import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { S3Credential } from "./config.js";
import { S3Error } from "./s3-error.js";

/**
 * AWS Signature Version 4 as S3 checks it: in the Authorization header and
 * in presigned URLs (query parameters). Written here rather than taken from
 * a library because the npm signers (@smithy/signature-v4, aws4) sign
 * requests; none verifies one, nor chunk and trailer signatures.
 */

export const ALGORITHM = "AWS4-HMAC-SHA256";
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/** S3 refuses requests whose clock differs from its own by more. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** Longest validity of a presigned URL (7 days), as S3. */
export const MAX_PRESIGNED_SECONDS = 7 * 24 * 60 * 60;

export const sha256Hex = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
export const hmac = (key: Uint8Array | string, data: string) => createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding as AWS specifies it: every byte but A-Z a-z 0-9 - . _ ~ as %XX (and '/' too unless kept). */
export function uriEncode(value: string, keepSlash: boolean): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), "aws4_request");
}

export interface CanonicalInput {
  method: string;
  /** The decoded path, as the resource it names. */
  path: string;
  /** Decoded query parameters, in any order. */
  query: Array<[string, string]>;
  headers: IncomingHttpHeaders;
  signedHeaders: string[];
  payloadHash: string;
}

export function canonicalRequest(c: CanonicalInput): string {
  const query = c.query
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const headers = c.signedHeaders.map((name) => `${name}:${headerValue(c.headers[name])}\n`).join("");
  return [c.method, uriEncode(c.path, true), query, headers, c.signedHeaders.join(";"), c.payloadHash].join("\n");
}

function headerValue(value: string | string[] | undefined): string {
  const v = Array.isArray(value) ? value.join(",") : (value ?? "");
  return v.trim().replace(/\s+/g, " ");
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join("\n");
}

/** The string a chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body is signed over. */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256: string): string {
  return ["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previousSignature, EMPTY_SHA256, chunkSha256].join("\n");
}

/** The string the trailer of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body is signed over. */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, trailerLines: string): string {
  return ["AWS4-HMAC-SHA256-TRAILER", amzDate, scope, previousSignature, sha256Hex(trailerLines)].join("\n");
}

export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Who signed a request, and what its body's chunks must be signed with. */
export interface Authenticated {
  credential: S3Credential;
  /** x-amz-content-sha256 (or UNSIGNED-PAYLOAD for presigned URLs). */
  payloadHash: string;
  /** For chunk signatures: the request's signature, key, time and scope. */
  seedSignature: string;
  key: Buffer;
  amzDate: string;
  scope: string;
}

export interface RequestToVerify {
  method: string;
  path: string;
  query: Array<[string, string]>;
  headers: IncomingHttpHeaders;
}

/** Checks requests' signatures against the gateway's key pairs. */
export class SigV4Verifier {
  private readonly keys: Map<string, S3Credential>;

  constructor(credentials: readonly S3Credential[], private readonly now: () => number = Date.now) {
    this.keys = new Map(credentials.map((c) => [c.accessKeyId, c]));
  }

  /** The request's signer, or an S3 error saying why it is refused. */
  verify(req: RequestToVerify): Authenticated {
    const auth = req.headers.authorization;
    const presigned = req.query.find(([k]) => k === "X-Amz-Algorithm");
    if (auth !== undefined && presigned) throw new S3Error("InvalidArgument", "a request is signed either in its Authorization header or in its query string, not both");
    if (auth !== undefined) return this.verifyHeader(req, auth);
    if (presigned) return this.verifyQuery(req);
    throw new S3Error("AccessDenied", "anonymous requests are refused: sign the request with an access key (AWS Signature Version 4)");
  }

  /**
   * A browser form's POST policy (PostObject): signed as the base64 policy
   * itself with the credential's SigV4 key. Returns the signer.
   */
  verifyPostPolicy(form: { policy: string; algorithm?: string; credential?: string; date?: string; signature?: string }): S3Credential {
    if (form.algorithm !== ALGORITHM) throw new S3Error("InvalidArgument", `the form's x-amz-algorithm must be ${ALGORITHM}`);
    if (!form.credential || !form.date || !form.signature) {
      throw new S3Error("InvalidArgument", "a POST policy needs the form fields x-amz-credential, x-amz-date and x-amz-signature");
    }
    const [accessKeyId, date, region, service, terminator, ...rest] = form.credential.split("/");
    if (!accessKeyId || !date || !region || service !== "s3" || terminator !== "aws4_request" || rest.length > 0) {
      throw new S3Error("InvalidArgument", "the form's x-amz-credential must be ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request");
    }
    const credential = this.keys.get(accessKeyId);
    if (!credential) throw new S3Error("InvalidAccessKeyId", `the access key ${accessKeyId} is not one of this gateway's`);
    if (amzDateToMs(form.date) === undefined || form.date.slice(0, 8) !== date) {
      throw new S3Error("InvalidArgument", "the form's x-amz-date must be a time like 20130524T000000Z on the credential's date");
    }
    const expected = hmac(signingKey(credential.secretAccessKey, date, region, service), form.policy).toString("hex");
    if (!sameSignature(expected, form.signature.toLowerCase())) {
      throw new S3Error("SignatureDoesNotMatch", "the POST policy's signature we calculated does not match the x-amz-signature of the form; check your secret key");
    }
    return credential;
  }

  private verifyHeader(req: RequestToVerify, auth: string): Authenticated {
    if (!auth.startsWith(`${ALGORITHM} `)) {
      if (auth.startsWith("AWS ")) throw new S3Error("InvalidRequest", "AWS Signature Version 2 is not supported; sign with Signature Version 4 (AWS4-HMAC-SHA256)");
      throw new S3Error("AuthorizationHeaderMalformed", `the Authorization header must start with ${ALGORITHM}`);
    }
    const fields = new Map<string, string>();
    for (const part of auth.slice(ALGORITHM.length + 1).split(",")) {
      const i = part.indexOf("=");
      if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
    }
    const credential = fields.get("Credential");
    const signedHeaders = fields.get("SignedHeaders");
    const signature = fields.get("Signature");
    if (!credential || !signedHeaders || !signature) {
      throw new S3Error("AuthorizationHeaderMalformed", "the Authorization header needs Credential, SignedHeaders and Signature");
    }
    const amzDate = headerString(req.headers["x-amz-date"]) ?? httpDateToAmz(headerString(req.headers.date));
    if (!amzDate) throw new S3Error("AccessDenied", "a signed request needs an x-amz-date (or Date) header");
    const payloadHash = headerString(req.headers["x-amz-content-sha256"]);
    if (!payloadHash) throw new S3Error("InvalidRequest", "missing the x-amz-content-sha256 header that Signature Version 4 requires for S3");
    return this.check(req, { credential, signedHeaders, signature, amzDate, payloadHash, query: req.query });
  }

  private verifyQuery(req: RequestToVerify): Authenticated {
    const q = new Map(req.query);
    if (q.get("X-Amz-Algorithm") !== ALGORITHM) throw new S3Error("AuthorizationHeaderMalformed", `X-Amz-Algorithm must be ${ALGORITHM}`);
    const credential = q.get("X-Amz-Credential");
    const signedHeaders = q.get("X-Amz-SignedHeaders");
    const signature = q.get("X-Amz-Signature");
    const amzDate = q.get("X-Amz-Date");
    const expires = Number(q.get("X-Amz-Expires"));
    if (!credential || !signedHeaders || !signature || !amzDate || !q.has("X-Amz-Expires")) {
      throw new S3Error("AuthorizationHeaderMalformed", "a presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature");
    }
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGNED_SECONDS) {
      throw new S3Error("AuthorizationHeaderMalformed", `X-Amz-Expires must be between 1 and ${MAX_PRESIGNED_SECONDS} seconds`);
    }
    const signedAt = amzDateToMs(amzDate);
    if (signedAt === undefined) throw new S3Error("AuthorizationHeaderMalformed", `X-Amz-Date ${amzDate} is not a time like 20130524T000000Z`);
    if (this.now() > signedAt + expires * 1000) throw new S3Error("AccessDenied", "Request has expired: the presigned URL's X-Amz-Date plus X-Amz-Expires is past");
    if (signedAt - this.now() > MAX_SKEW_MS) throw new S3Error("RequestTimeTooSkewed", "the presigned URL is signed for a time more than 15 minutes ahead of the gateway's clock");
    return this.check(req, {
      credential,
      signedHeaders,
      signature,
      amzDate,
      payloadHash: q.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD",
      query: req.query.filter(([k]) => k !== "X-Amz-Signature"),
      presigned: true,
    });
  }

  private check(
    req: RequestToVerify,
    a: { credential: string; signedHeaders: string; signature: string; amzDate: string; payloadHash: string; query: Array<[string, string]>; presigned?: boolean },
  ): Authenticated {
    const [accessKeyId, date, region, service, terminator, ...rest] = a.credential.split("/");
    if (!accessKeyId || !date || !region || !service || terminator !== "aws4_request" || rest.length > 0) {
      throw new S3Error("AuthorizationHeaderMalformed", "the credential must be ACCESS_KEY/YYYYMMDD/REGION/s3/aws4_request");
    }
    const credential = this.keys.get(accessKeyId);
    if (!credential) throw new S3Error("InvalidAccessKeyId", `the access key ${accessKeyId} is not one of this gateway's`);
    if (service !== "s3") throw new S3Error("AuthorizationHeaderMalformed", `the credential's service must be s3, not ${service}`);
    const signedAt = amzDateToMs(a.amzDate);
    if (signedAt === undefined) throw new S3Error("AccessDenied", `the request time ${a.amzDate} is not a time like 20130524T000000Z`);
    if (!a.presigned && Math.abs(this.now() - signedAt) > MAX_SKEW_MS) {
      throw new S3Error("RequestTimeTooSkewed", "the difference between the request time and the gateway's time is more than 15 minutes", {
        RequestTime: a.amzDate,
        ServerTime: new Date(this.now()).toISOString(),
      });
    }
    if (a.amzDate.slice(0, 8) !== date) throw new S3Error("SignatureDoesNotMatch", "the credential's date is not the request's date");
    const signedHeaders = a.signedHeaders.split(";");
    if (!signedHeaders.includes("host")) throw new S3Error("AccessDenied", "the host header must be signed");
    const scope = `${date}/${region}/${service}/aws4_request`;
    const canonical = canonicalRequest({ method: req.method, path: req.path, query: a.query, headers: req.headers, signedHeaders, payloadHash: a.payloadHash });
    const key = signingKey(credential.secretAccessKey, date, region, service);
    const expected = hmac(key, stringToSign(a.amzDate, scope, canonical)).toString("hex");
    if (!sameSignature(expected, a.signature.toLowerCase())) {
      throw new S3Error("SignatureDoesNotMatch", "the request signature we calculated does not match the signature you provided; check your secret key and signing method");
    }
    return { credential, payloadHash: a.payloadHash, seedSignature: expected, key, amzDate: a.amzDate, scope };
  }
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** 20130524T000000Z → milliseconds, or undefined. */
export function amzDateToMs(amzDate: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}

function httpDateToAmz(date: string | undefined): string | undefined {
  if (!date) return undefined;
  const ms = Date.parse(date);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}
