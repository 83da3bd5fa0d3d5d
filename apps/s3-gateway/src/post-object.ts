import { finished, type Readable } from "node:stream";
import busboy from "busboy";
import type { FileStatus } from "@trainfs/client";
import { objectPath } from "./names.js";
import { STORED_HEADERS, httpDate, metadataAttributes, refusedAcl } from "./object-meta.js";
import { MAX_PUT_BYTES, type Operations } from "./operations.js";
import { sendEmpty, sendXml } from "./responses.js";
import type { GatewayParts, S3Request } from "./s3-context.js";
import { S3Error } from "./s3-error.js";
import type { SigV4Verifier } from "./sigv4.js";

/** Form fields no policy condition has to name (S3's rule; and x-ignore-* ones). */
const UNCONDITIONED = new Set(["x-amz-signature", "file", "policy"]);
/** Bounds of the fields before the file (a policy is at most a few KiB); fields may come as file parts too. */
const LIMITS = { fields: 100, fieldSize: 64 * 1024, files: 101, parts: 101 };

type Condition = { op: "eq" | "starts-with"; field: string; value: string } | { op: "content-length-range"; min: number; max: number };

interface Form {
  /** The fields before the file, by lowercased name. */
  fields: Map<string, string>;
  file: Readable;
  filename: string;
}

/**
 * PostObject: a browser form's upload (multipart/form-data, the file its
 * last field), authorized by a POST policy signed with SigV4, as boto3's
 * generate_presigned_post and the JS SDK's createPresignedPost make them.
 * The fields are parsed with busboy, and the signature, the policy's
 * expiration and every condition are checked before a byte of the file is
 * stored; the file then streams into TrainFS as a PutObject's body does,
 * within the policy's content-length-range.
 */
export class PostObject {
  constructor(
    private readonly p: GatewayParts,
    private readonly ops: Operations,
    private readonly verifier: SigV4Verifier,
  ) {}

  async run(r: S3Request): Promise<void> {
    const { fields, file, filename } = await readForm(r);
    try {
      const policy = fields.get("policy");
      if (policy === undefined) throw new S3Error("AccessDenied", "anonymous POST uploads are refused: the form needs a policy signed with an access key");
      if (fields.has("awsaccesskeyid") && !fields.has("x-amz-signature")) {
        throw new S3Error("AccessDenied", "POST policies signed with Signature Version 2 (AWSAccessKeyId, signature) are not supported; sign with Signature Version 4 (x-amz-algorithm AWS4-HMAC-SHA256)");
      }
      const credential = this.verifier.verifyPostPolicy({
        policy,
        algorithm: fields.get("x-amz-algorithm"),
        credential: fields.get("x-amz-credential"),
        date: fields.get("x-amz-date"),
        signature: fields.get("x-amz-signature"),
      });
      if (credential.access === "read-only") throw new S3Error("AccessDenied", `the access key ${credential.accessKeyId} is read-only; PostObject writes`);
      const given = fields.get("key");
      if (given === undefined) throw new S3Error("InvalidArgument", "Bucket POST must contain a field named 'key'");
      const key = given.replaceAll("${filename}", filename);
      const range = checkPolicy(policy, new Map([...fields, ["bucket", r.bucket], ["key", key]]), this.p.now());
      const refused = refusedAcl({ req: { headers: { "x-amz-acl": fields.get("acl") } } });
      if (refused) throw new S3Error("NotImplemented", `${refused} is not supported`);
      for (const name of fields.keys()) {
        if (name === "tagging" || name.startsWith("x-amz-server-side-encryption")) throw new S3Error("NotImplemented", `the form field ${name} is not supported`);
      }
      const path = objectPath(r.bucket, key);
      await this.ops.bucketDir(r.bucket);
      const headers = Object.fromEntries([...fields].filter(([name]) => (STORED_HEADERS as readonly string[]).includes(name) || name.startsWith("x-amz-meta-")));
      const attributes = metadataAttributes(headers);
      const { etag, status } = await this.store(r, file, path, key, attributes, range);
      respond(r, fields, key, etag, status);
    } finally {
      // A file not (wholly) read is let go of, so the request can end.
      file.resume();
    }
  }

  /** Streams the file into `path`, within the policy's length range; its MD5 is the ETag. */
  private async store(
    r: S3Request,
    file: Readable,
    path: string,
    key: string,
    attributes: Record<string, string>,
    range: { min: number; max: number },
  ): Promise<{ etag: string; status: FileStatus }> {
    let length = 0;
    let failure: S3Error | undefined;
    const bytes = (async function* () {
      for await (const data of file as AsyncIterable<Buffer>) {
        length += data.length;
        r.bytesIn += data.length;
        if (length > range.max) throw (failure = new S3Error("EntityTooLarge", `Your proposed upload exceeds the maximum allowed size (${range.max} bytes, the policy's content-length-range)`));
        yield data;
      }
      if (length < range.min) throw (failure = new S3Error("EntityTooSmall", `Your proposed upload is smaller than the minimum allowed size (${range.min} bytes, the policy's content-length-range)`));
    })();
    try {
      return await this.ops.putHashed(bytes, path, key, { size: undefined, attributes });
    } catch (err) {
      throw failure ?? err;
    }
  }
}

/** The form's fields up to its file, and the file's stream; MalformedPOSTRequest when it is not such a form. */
function readForm(r: S3Request): Promise<Form> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: r.req.headers, limits: LIMITS });
    } catch (err) {
      reject(new S3Error("MalformedPOSTRequest", `The body of your POST request is not well-formed multipart/form-data: ${(err as Error).message}`));
      return;
    }
    const fields = new Map<string, string>();
    const pending: Array<Promise<void>> = [];
    /** The first failure; one found after the file's part began is raised once the fields before it are in. */
    let failure: S3Error | undefined;
    let settled = false;
    const fail = (e: S3Error) => {
      failure ??= e;
      if (!settled) reject(e);
      settled = true;
    };
    parser.on("field", (name, value, info) => {
      if (settled) return;
      if (info.valueTruncated) fail(new S3Error("MaxPostPreDataLengthExceeded", `the form field ${name} is longer than ${LIMITS.fieldSize} bytes`));
      else fields.set(name.toLowerCase(), value);
    });
    parser.on("file", (name, stream, info) => {
      if (settled) {
        stream.resume();
        return;
      }
      if (name.toLowerCase() !== "file") {
        // A field sent as a file part (with a filename, as Python's requests sends every part of `files=`) is still a field.
        pending.push(
          new Promise<void>((done) => {
            const parts: Buffer[] = [];
            let size = 0;
            stream.on("data", (data: Buffer) => {
              size += data.length;
              if (size <= LIMITS.fieldSize) parts.push(data);
            });
            stream.on("end", () => {
              if (size > LIMITS.fieldSize) fail(new S3Error("MaxPostPreDataLengthExceeded", `the form field ${name} is longer than ${LIMITS.fieldSize} bytes`));
              else fields.set(name.toLowerCase(), Buffer.concat(parts).toString("utf8"));
            });
            // Ended, failed or cut: the form waits for it no longer.
            finished(stream, () => done());
          }),
        );
        return;
      }
      settled = true;
      // The fields sent as file parts before it end after the file's part begins: they are waited for.
      void Promise.all(pending).then(() => {
        if (!failure) return resolve({ fields, file: stream, filename: info.filename ?? "" });
        stream.resume();
        reject(failure);
      });
    });
    parser.on("error", (err: Error) => fail(new S3Error("MalformedPOSTRequest", `The body of your POST request is not well-formed multipart/form-data: ${err.message}`)));
    parser.on("close", () => {
      // Once the file's part began, the form had one.
      if (!settled) fail(new S3Error("InvalidArgument", "POST requires exactly one file upload per request (a field named file, last in the form)"));
    });
    r.req.pipe(parser);
  });
}

/**
 * Checks a POST policy against the form: not expired, every condition met,
 * every field named by a condition. Returns the content-length-range.
 */
export function checkPolicy(policyBase64: string, values: Map<string, string>, nowMs: number): { min: number; max: number } {
  let doc: { expiration?: unknown; conditions?: unknown };
  try {
    doc = JSON.parse(Buffer.from(policyBase64, "base64").toString("utf8")) as typeof doc;
  } catch {
    throw new S3Error("InvalidPolicyDocument", "Invalid Policy: the policy is not base64-encoded JSON");
  }
  const expiration = typeof doc.expiration === "string" ? Date.parse(doc.expiration) : Number.NaN;
  if (Number.isNaN(expiration)) throw new S3Error("InvalidPolicyDocument", "Invalid Policy: expiration must be an ISO 8601 time");
  if (nowMs > expiration) throw new S3Error("AccessDenied", "Invalid according to Policy: Policy expired.");
  if (!Array.isArray(doc.conditions)) throw new S3Error("InvalidPolicyDocument", "Invalid Policy: conditions must be a list");
  const conditions = doc.conditions.map(parseCondition);
  const range = { min: 0, max: MAX_PUT_BYTES };
  const named = new Set<string>();
  for (const c of conditions) {
    if (c.op === "content-length-range") {
      range.min = Math.max(range.min, c.min);
      range.max = Math.min(range.max, c.max);
      continue;
    }
    named.add(c.field);
    const value = values.get(c.field) ?? "";
    if (c.op === "eq" ? value !== c.value : !value.startsWith(c.value)) {
      throw new S3Error("AccessDenied", `Invalid according to Policy: Policy Condition failed: ["${c.op}", "$${c.field}", ${JSON.stringify(c.value)}]`);
    }
  }
  const extra = [...values.keys()].filter((name) => !named.has(name) && !UNCONDITIONED.has(name) && !name.startsWith("x-ignore-") && name !== "bucket" && name !== "key");
  if (extra.length > 0) throw new S3Error("AccessDenied", `Invalid according to Policy: Extra input fields: ${extra.join(", ")}`);
  if (!named.has("key")) throw new S3Error("AccessDenied", "Invalid according to Policy: the policy names no condition on $key");
  return range;
}

function parseCondition(c: unknown): Condition {
  const bad = () => new S3Error("InvalidPolicyDocument", `Invalid Policy: the condition ${JSON.stringify(c)?.slice(0, 200)} is not one S3 takes`);
  if (Array.isArray(c)) {
    const [op, a, b] = c as unknown[];
    if (op === "content-length-range" && Number.isSafeInteger(a) && Number.isSafeInteger(b) && (a as number) >= 0 && (a as number) <= (b as number)) {
      return { op, min: a as number, max: b as number };
    }
    if ((op === "eq" || op === "starts-with") && typeof a === "string" && a.startsWith("$") && typeof b === "string") {
      return { op, field: a.slice(1).toLowerCase(), value: b };
    }
    throw bad();
  }
  if (c !== null && typeof c === "object") {
    const entries = Object.entries(c as Record<string, unknown>);
    if (entries.length === 1 && typeof entries[0]![1] === "string") return { op: "eq", field: entries[0]![0].toLowerCase(), value: entries[0]![1] };
  }
  throw bad();
}

/** S3's answer to a form upload: a redirect, or 200, 201 (with a document) or 204, as the form asked. */
function respond(r: S3Request, fields: Map<string, string>, key: string, etag: string, status: FileStatus): void {
  const location = `/${r.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  const headers = { etag: `"${etag}"`, location, "last-modified": httpDate(status.modificationTime) };
  const redirect = fields.get("success_action_redirect") ?? fields.get("redirect");
  if (redirect) {
    let url: URL | undefined;
    try {
      url = new URL(redirect);
    } catch {
      // Not a URL: answered as if none were given, as S3 does.
    }
    if (url) {
      url.searchParams.set("bucket", r.bucket);
      url.searchParams.set("key", key);
      url.searchParams.set("etag", `"${etag}"`);
      sendEmpty(r.res, 303, { ...headers, location: url.toString() });
      return;
    }
  }
  const code = fields.get("success_action_status");
  if (code === "201") sendXml(r, 201, "PostResponse", { Location: location, Bucket: r.bucket, Key: key, ETag: `"${etag}"` }, headers);
  else sendEmpty(r.res, code === "200" ? 200 : 204, headers);
}
