import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Histogram } from "prom-client";
import { TrainfsClient } from "@trainfs/client";
import { Metrics, TrainfsError, loadCa, loadServerTls, type Logger } from "@trainfs/common";
import type { S3GatewayConfig } from "./config.js";
import { Multipart } from "./multipart.js";
import { Operations } from "./operations.js";
import { sendEmpty } from "./responses.js";
import { PostObject } from "./post-object.js";
import { refusedAcl } from "./object-meta.js";
import { header, type S3Request } from "./s3-context.js";
import { S3Error, toS3Error } from "./s3-error.js";
import { SigV4Verifier } from "./sigv4.js";
import { errorDocument } from "./xml.js";

/** Operations that change something: refused to read-only keys. */
const WRITES = new Set([
  "CreateBucket", "DeleteBucket", "PutObject", "CopyObject", "DeleteObject", "DeleteObjects",
  "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload", "DeleteObjectTagging",
  "PutBucketAcl", "PutObjectAcl",
]);

/** Bucket and object subresources S3 has and this gateway does not. */
const UNSUPPORTED = [
  "acl", "policy", "policyStatus", "cors", "lifecycle", "website", "tagging", "logging", "notification",
  "replication", "encryption", "object-lock", "retention", "legal-hold", "requestPayment", "accelerate", "analytics", "metrics",
  "inventory", "intelligent-tiering", "ownershipControls", "publicAccessBlock", "restore", "select", "torrent", "attributes",
];

type Route = { operation: string; run: (r: S3Request) => Promise<void> };

/**
 * The S3 gateway: S3's REST API (path-style) over a TrainFS cluster, with
 * AWS Signature Version 4. Stateless: everything, multipart uploads
 * included, lives in TrainFS, so several gateways can serve side by side.
 * Object bytes move through the Node SDK's data path, a chunk at a time.
 */
export class S3Gateway {
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();

  private constructor(
    readonly config: S3GatewayConfig,
    private readonly server: Server,
    readonly fs: TrainfsClient,
    readonly multipart: Multipart,
    private readonly logger: Logger,
  ) {}

  static async start(config: S3GatewayConfig, logger: Logger, now: () => number = Date.now): Promise<S3Gateway> {
    const tls = loadServerTls(config);
    const token = config.token ?? (config.tokenFile ? readToken(config.tokenFile) : undefined);
    if (config.credentials.length === 0) {
      throw new TrainfsError("invalid_argument", "no credentials: give at least one ACCESS_KEY:SECRET_KEY:rw (or :ro) in credentials (TRAINFS_S3_CREDENTIALS)");
    }
    const fs = new TrainfsClient({
      namenode: config.namenode,
      token,
      ca: loadCa(config.tlsCaFile),
      onNameNodeSwitch: (from, to, reason) => logger.info({ from, to, reason }, "NameNode calls now go to another NameNode"),
    });
    const parts = { fs, config, logger, now };
    const ops = new Operations(parts);
    const multipart = new Multipart(parts, ops);
    const verifier = new SigV4Verifier(config.credentials, now);
    const postObject = new PostObject(parts, ops, verifier);
    const metrics = new S3Metrics();
    const handler = (req: IncomingMessage, res: ServerResponse) => void handle(req, res, { ops, multipart, postObject, verifier, metrics, logger, fs });
    const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
    // Expect: 100-continue is answered by `handle` once the request's signature and access are checked, not by Node at once:
    // a refused client never sends its body.
    server.on("checkContinue", handler);
    // Long PUTs stream for as long as they take; an idle connection is closed.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const gw = new S3Gateway(config, server, fs, multipart, logger);
    gw.scheduleSweep();
    logger.info({ address: gw.address, namenode: config.namenode.join(","), keys: config.credentials.map((c) => `${c.accessKeyId}:${c.access}`) }, "S3 gateway listening");
    if (!tls) logger.warn("no TLS: S3 requests travel in cleartext (their signatures, not their secrets); set tlsCert and tlsKey on untrusted networks");
    return gw;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get address(): string {
    return `${this.config.tlsCert ? "https" : "http"}://${this.config.host}:${this.port}`;
  }

  /** One pass of the expired-upload sweep (also run on a timer). */
  sweepMultipart(): Promise<void> {
    this.sweeping = this.sweeping.then(async () => {
      try {
        const removed = await this.multipart.sweep(this.config.multipartExpiryMs);
        if (removed.length > 0) this.logger.info({ uploads: removed }, "expired multipart uploads removed");
      } catch (err) {
        this.logger.warn({ err }, "multipart sweep failed");
      }
    });
    return this.sweeping;
  }

  async stop(): Promise<void> {
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    await this.sweeping;
    this.fs.close();
    this.logger.info("S3 gateway stopped");
  }

  private scheduleSweep(): void {
    this.sweepTimer = setTimeout(() => {
      void this.sweepMultipart().then(() => {
        if (this.sweepTimer) this.scheduleSweep();
      });
    }, this.config.multipartSweepIntervalMs);
    this.sweepTimer.unref();
  }
}

function readToken(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new TrainfsError("invalid_argument", `cannot read the token file ${path}: ${(err as Error).message}`);
  }
}

/** Requests by operation and status, bytes in and out, latency. */
class S3Metrics {
  readonly metrics = new Metrics("s3-gateway");
  readonly requests = this.metrics.counter("trainfs_s3_requests_total", "S3 requests, by operation and HTTP status.", ["operation", "status"]);
  readonly bytesIn = this.metrics.counter("trainfs_s3_received_bytes_total", "Request body bytes received, by operation.", ["operation"]);
  readonly bytesOut = this.metrics.counter("trainfs_s3_sent_bytes_total", "Response body bytes sent, by operation.", ["operation"]);
  readonly latency = new Histogram({
    name: "trainfs_s3_request_duration_seconds",
    help: "Time to serve an S3 request, until its response ends.",
    labelNames: ["operation"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.metrics.registry],
  });
}

interface Handlers {
  ops: Operations;
  multipart: Multipart;
  verifier: SigV4Verifier;
  postObject: PostObject;
  metrics: S3Metrics;
  logger: Logger;
  fs: TrainfsClient;
}

async function handle(req: IncomingMessage, res: ServerResponse, h: Handlers): Promise<void> {
  const started = process.hrtime.bigint();
  const requestId = randomBytes(8).toString("hex").toUpperCase();
  res.setHeader("x-amz-request-id", requestId);
  res.setHeader("server", "TrainFS");
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? "" : rawUrl.slice(q + 1);
  let operation = "Unknown";
  const r: S3Request = { req, res, method: req.method ?? "GET", bucket: "", key: "", query: new Map(), auth: undefined as never, requestId, bytesIn: 0, bytesOut: 0 };
  try {
    const query = parseQuery(rawQuery);
    r.query = new Map(query);
    const signed = req.headers.authorization !== undefined || r.query.has("X-Amz-Algorithm");
    // Probes carry no signature; a signed GET /healthz lists a bucket of that name.
    if (!signed && (await probe(rawPath, r, h))) {
      operation = "Probe";
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      throw new S3Error("InvalidArgument", "the request path is not URL-encoded correctly");
    }
    const slash = path.indexOf("/", 1);
    r.bucket = slash < 0 ? path.slice(1) : path.slice(1, slash);
    r.key = slash < 0 ? "" : path.slice(slash + 1);
    const route = routeOf(r, h);
    operation = route.operation;
    // A browser form's upload carries its signature in the form (a POST policy): PostObject checks it before storing a byte.
    if (operation !== "PostObject") {
      r.auth = h.verifier.verify({ method: r.method, path, query, headers: req.headers });
      if (WRITES.has(operation) && r.auth.credential.access === "read-only") {
        throw new S3Error("AccessDenied", `the access key ${r.auth.credential.accessKeyId} is read-only; ${operation} writes`);
      }
    }
    if (/^100-continue$/i.test(req.headers.expect ?? "")) res.writeContinue();
    await route.run(r);
  } catch (err) {
    const e = toS3Error(err);
    if (e.status >= 500) h.logger.error({ err, requestId, operation }, "S3 request failed");
    else h.logger.debug({ code: e.code, message: e.message, requestId, operation }, "S3 request refused");
    sendError(r, e, rawPath);
  } finally {
    const finish = () => {
      h.metrics.requests.inc({ operation, status: String(res.statusCode) });
      h.metrics.bytesIn.inc({ operation }, r.bytesIn);
      h.metrics.bytesOut.inc({ operation }, r.bytesOut);
      h.metrics.latency.observe({ operation }, Number(process.hrtime.bigint() - started) / 1e9);
    };
    if (res.writableFinished || res.destroyed) finish();
    else res.once("close", finish);
  }
}

function sendError(r: S3Request, e: S3Error, resource: string): void {
  const { res } = r;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A body the client is still sending is not read: close the connection after the answer.
  if (!r.req.complete) res.setHeader("connection", "close");
  if (r.method === "HEAD") {
    sendEmpty(res, e.status, { "x-amz-error-code": e.code });
    return;
  }
  const body = Buffer.from(errorDocument(e.code, e.message, resource, r.requestId, e.extra));
  r.bytesOut += body.length;
  res.writeHead(e.status, { "content-type": "application/xml", "content-length": String(body.length) });
  res.end(body);
}

async function probe(rawPath: string, r: S3Request, h: Handlers): Promise<boolean> {
  const { res } = r;
  if (rawPath === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return true;
  }
  if (rawPath === "/readyz") {
    try {
      await h.fs.stat("/", { signal: AbortSignal.timeout(2000) });
      res.writeHead(200, { "content-type": "text/plain" }).end("ready\n");
    } catch (err) {
      res.writeHead(503, { "content-type": "text/plain" }).end(`not ready: the NameNode does not answer (${(err as Error).message})\n`);
    }
    return true;
  }
  if (rawPath === "/metrics") {
    const text = await h.metrics.metrics.registry.metrics();
    res.writeHead(200, { "content-type": h.metrics.metrics.registry.contentType }).end(text);
    return true;
  }
  return false;
}

/** Query parameters, decoded (a '+' stays a '+': S3 clients encode spaces as %20). */
export function parseQuery(raw: string): Array<[string, string]> {
  if (raw === "") return [];
  return raw.split("&").filter((p) => p !== "").map((p) => {
    const i = p.indexOf("=");
    try {
      return i < 0 ? [decodeURIComponent(p), ""] : [decodeURIComponent(p.slice(0, i)), decodeURIComponent(p.slice(i + 1))];
    } catch {
      throw new S3Error("InvalidArgument", "the query string is not URL-encoded correctly");
    }
  });
}

function routeOf(r: S3Request, h: Handlers): Route {
  const { ops, multipart } = h;
  const q = r.query;
  const m = r.method;
  const unsupported = UNSUPPORTED.find((s) => q.has(s));
  const notImplemented = (what: string): Route => ({
    operation: "NotImplemented",
    run: async () => {
      throw new S3Error("NotImplemented", `${what} is not supported by the TrainFS S3 gateway (see docs/s3.md for what is)`);
    },
  });
  if (r.bucket === "") {
    if (m === "GET") return { operation: "ListBuckets", run: (x) => ops.listBuckets(x) };
    return notImplemented(`${m} on the service`);
  }
  // Objects carry no tags (setting them is not supported): reading or clearing them is answered, as tools that copy tags (aws s3 cp between keys) ask.
  if (r.key !== "" && unsupported === "tagging" && m === "GET") return { operation: "GetObjectTagging", run: (x) => ops.objectTagging(x, "get") };
  if (r.key !== "" && unsupported === "tagging" && m === "DELETE") return { operation: "DeleteObjectTagging", run: (x) => ops.objectTagging(x, "delete") };
  // TrainFS keeps no ACLs: every bucket and object is private to the gateway's keys. Reading that, or setting it as it is, is answered.
  if (unsupported === "acl" && (m === "GET" || m === "PUT")) {
    const operation = `${m === "GET" ? "Get" : "Put"}${r.key === "" ? "Bucket" : "Object"}Acl`;
    return { operation, run: (x) => ops.acl(x, m === "GET" ? "get" : "put") };
  }
  if (unsupported) return notImplemented(`the ?${unsupported} subresource`);
  const refused = refusedAcl(r);
  if (refused) return notImplemented(refused);
  const tagged = header(r, "x-amz-tagging");
  if (tagged !== undefined && tagged !== "") return notImplemented("object tags (x-amz-tagging)");
  // Stored unencrypted, a request that asked for encryption at rest would be told a lie: it is refused, as MinIO does without a KMS.
  const encryption = Object.keys(r.req.headers).find((h) => /^x-amz-(copy-source-)?server-side-encryption/.test(h));
  if (encryption) return notImplemented(`server-side encryption (${encryption}): objects are stored as sent; encrypt on the client`);
  if (q.has("versioning") && !(r.key === "" && m === "GET")) return notImplemented("changing versioning (TrainFS buckets are never versioned)");
  if (r.key === "") {
    switch (m) {
      case "GET":
        if (q.has("versioning")) return { operation: "GetBucketVersioning", run: (x) => ops.bucketVersioning(x) };
        if (q.has("versions")) return { operation: "ListObjectVersions", run: (x) => ops.listObjects(x, "versions") };
        if (q.has("location")) return { operation: "GetBucketLocation", run: (x) => ops.bucketLocation(x) };
        if (q.has("uploads")) return { operation: "ListMultipartUploads", run: (x) => multipart.listUploads(x) };
        if (q.get("list-type") === "2") return { operation: "ListObjectsV2", run: (x) => ops.listObjects(x, "v2") };
        if (q.has("list-type")) return notImplemented(`list-type=${q.get("list-type")}`);
        return { operation: "ListObjects", run: (x) => ops.listObjects(x, "v1") };
      case "HEAD":
        return { operation: "HeadBucket", run: (x) => ops.headBucket(x) };
      case "PUT":
        return { operation: "CreateBucket", run: (x) => ops.createBucket(x) };
      case "DELETE":
        return { operation: "DeleteBucket", run: (x) => ops.deleteBucket(x) };
      case "POST":
        if (q.has("delete")) return { operation: "DeleteObjects", run: (x) => ops.deleteObjects(x) };
        if (/^multipart\/form-data/i.test(header(r, "content-type") ?? "")) return { operation: "PostObject", run: (x) => h.postObject.run(x) };
        return notImplemented("POST on a bucket without a multipart/form-data body");
      default:
        return notImplemented(`${m} on a bucket`);
    }
  }
  switch (m) {
    case "GET":
      if (q.has("uploadId")) return { operation: "ListParts", run: (x) => multipart.listParts(x) };
      return { operation: "GetObject", run: (x) => ops.getObject(x, false) };
    case "HEAD":
      return { operation: "HeadObject", run: (x) => ops.getObject(x, true) };
    case "PUT":
      if (q.has("uploadId") || q.has("partNumber")) {
        if (r.req.headers["x-amz-copy-source"] !== undefined) return { operation: "UploadPartCopy", run: (x) => multipart.uploadPartCopy(x) };
        return { operation: "UploadPart", run: (x) => multipart.uploadPart(x) };
      }
      if (r.req.headers["x-amz-copy-source"] !== undefined) return { operation: "CopyObject", run: (x) => ops.copyObject(x) };
      return { operation: "PutObject", run: (x) => ops.putObject(x) };
    case "DELETE":
      if (q.has("uploadId")) return { operation: "AbortMultipartUpload", run: (x) => multipart.abort(x) };
      return { operation: "DeleteObject", run: (x) => ops.deleteObject(x) };
    case "POST":
      if (q.has("uploads")) return { operation: "CreateMultipartUpload", run: (x) => multipart.create(x) };
      if (q.has("uploadId")) return { operation: "CompleteMultipartUpload", run: (x) => multipart.complete(x) };
      return notImplemented("POST on an object");
    default:
      return notImplemented(`${m} on an object`);
  }
}
