import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { DescMethod } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Code, createContextKey, createContextValues, type ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { corsPolicy } from "./cors-policy.js";
import { HTTP2_WINDOW_BYTES, MAX_MESSAGE_BYTES, toConnectError, useFastUtf8Encoder } from "@trainfs/core";
import { requestIdServerInterceptor } from "@trainfs/node";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { onCallEnd } from "./intercept.js";
import type { ServerTls } from "./tls.js";
import { serveStaticFile } from "./static-files.js";

export interface RpcServer {
  readonly host: string;
  readonly port: number;
  /** Stops accepting, lets open calls finish for a grace period, then cuts them. */
  close(graceMs?: number): Promise<void>;
}

export interface RpcServerOptions {
  host: string;
  port: number;
  routes: (router: ConnectRouter) => void;
  logger: Logger;
  /** Answers GET /readyz: ready to serve (a NameNode out of safe mode, a DataNode registered). */
  ready?: () => boolean;
  /** Served at GET /metrics (Prometheus text format); also counts and times every RPC. */
  metrics?: Metrics;
  /**
   * Checks every RPC's caller before its handler runs, from the method's
   * descriptor (its service and declared idempotency); throws a TrainfsError
   * (unauthenticated, permission_denied) to refuse. Health and metrics
   * endpoints are not RPCs.
   */
  authorize?: (method: DescMethod, headers: Headers, nameCaller: (name: string) => void) => void;
  /**
   * Interceptors run just before authorization, so that they see refused
   * calls too, with the caller's name once `authorize` gave it (the
   * NameNode's audit log).
   */
  interceptors?: readonly Interceptor[];
  /** Serve TLS only (HTTP/2 and HTTP/1.1 chosen by ALPN) instead of cleartext. */
  tls?: ServerTls | undefined;
  /**
   * Web origins (scheme://host:port) whose pages may call this server (CORS);
   * "*" allows any. Pages of the server's own origin need no entry.
   */
  corsOrigins?: readonly string[];
  /** Response headers that pages of allowed origins may read, besides Connect's and the request id. */
  exposeHeaders?: readonly string[];
  /** Plain HTTP endpoints by exact path (the NameNode's HA snapshot), answered before the static files and Connect. */
  httpRoutes?: Readonly<Record<string, (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void>>;
  /** Files served for GET and HEAD outside the RPC, health and metrics paths (the web console). */
  staticDir?: string | undefined;
  /** RPCs logged at debug rather than info (periodic calls such as heartbeats). */
  quietMethods?: readonly string[];
  /**
   * A second protocol on the port: cleartext connections whose first bytes
   * are `preface` are handed to `handle` with the preface consumed, TLS ones
   * that chose `alpn` as they are. `observe` logs and counts each of its
   * calls as the RPCs are.
   */
  rawProtocol?: { preface: Buffer; alpn: string; handle(socket: net.Socket, observe: CallObserver): void } | undefined;
}

/** The address of the peer that made the call (its TCP source address), for audit lines. */
export const clientAddressKey = createContextKey<string>("", { description: "the caller's network address" });
/** Who made the call as `authorize` named it (a token's name), for audit lines. */
export const callerNameKey = createContextKey<string>("", { description: "the caller's name" });

/** Starts observing one call; the returned function ends it with its error, if any, and gives that error as a ConnectError. */
export type CallObserver = (method: string) => (err?: unknown) => ConnectError | undefined;

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * One port for everything: HTTP/2 (Connect, gRPC, gRPC-web; what TrainFS's
 * own clients use, with raised flow-control windows), HTTP/1.1 (Connect and
 * gRPC-web from browsers and curl, the health endpoints `/healthz` and
 * `/readyz` that orchestrators probe, and `/metrics`) and, on DataNodes, the
 * data-transfer protocol. A front server hands each connection to the right
 * one: in cleartext by its first bytes (the HTTP/2 preface, the raw
 * protocol's preface, else HTTP/1.1), over TLS by the ALPN protocol the
 * client chose. Explicit message limits, no compression (chunk data does not
 * compress, so gzip would only cost throughput).
 */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  useFastUtf8Encoder();
  const logCall = callLogger(options.logger, new Set(options.quietMethods ?? []));
  const observe: CallObserver = (method) => {
    const counted = options.metrics?.beginCall(method);
    const logged = logCall(method);
    return (err) => {
      counted?.(err);
      return logged(err);
    };
  };
  const connect = connectNodeAdapter({
    routes: options.routes,
    // The request id comes first, so that every log line of the call carries it.
    interceptors: [
      requestIdServerInterceptor(),
      ...(options.metrics ? [options.metrics.interceptor()] : []),
      onCallEnd(logCall),
      ...(options.interceptors ?? []),
      ...(options.authorize ? [authorizeInterceptor(options.authorize)] : []),
    ],
    contextValues: (req) => {
      const values = createContextValues();
      values.set(clientAddressKey, req.socket?.remoteAddress ?? "");
      return values;
    },
    acceptCompression: [],
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
  });
  const corsCheck = corsPolicy(options.corsOrigins ?? [], options.exposeHeaders ?? []);
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    if (!corsCheck(req, res)) return;
    if (req.method === "GET" && req.url === "/metrics" && options.metrics) {
      const registry = options.metrics.registry;
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`${String(err)}\n`);
        },
      );
      return;
    }
    const route = req.method === "GET" ? options.httpRoutes?.[(req.url ?? "").split("?")[0]!] : undefined;
    if (route) {
      route(req, res);
      return;
    }
    if (req.method === "GET" && (req.url === "/healthz" || req.url === "/readyz")) {
      const ok = req.url === "/healthz" || (options.ready?.() ?? true);
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
      res.end(ok ? "ok\n" : "not ready\n");
      return;
    }
    if (options.staticDir && (req.method === "GET" || req.method === "HEAD") && !(req.url ?? "").startsWith("/trainfs.")) {
      serveStaticFile(options.staticDir, req, res).catch((err: unknown) => {
        options.logger.error({ err, url: req.url }, "cannot serve a static file");
        res.destroy();
      });
      return;
    }
    connect(req as http.IncomingMessage, res as http.ServerResponse);
  };
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  // The HTTP servers never listen: the front server below hands them their
  // connections (TLS ones already decrypted).
  const h2 = http2.createServer({ settings: { initialWindowSize: HTTP2_WINDOW_BYTES } }, handler);
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.once("connect", () => setSessionWindow(session));
    setSessionWindow(session);
  });
  const track = (socket: net.Socket) => {
    // Small messages (metadata calls, acknowledgements) must not wait for
    // Nagle's algorithm and delayed ACKs: tens of milliseconds per call.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  const h1 = http.createServer(handler);
  let front: net.Server | tls.Server;
  if (options.tls) {
    // Over TLS, ALPN names the protocol: no need to sniff the first bytes.
    const raw = options.rawProtocol;
    front = tls.createServer({ ...options.tls, ALPNProtocols: ["h2", "http/1.1", ...(raw ? [raw.alpn] : [])] }, (socket) => {
      socket.on("error", () => socket.destroy());
      if (raw && socket.alpnProtocol === raw.alpn) raw.handle(socket, observe);
      else if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
      else h1.emit("connection", socket);
    });
    front.on("connection", track);
    front.on("tlsClientError", (_err, socket) => socket.destroy());
  } else {
    front = net.createServer((socket) => {
      track(socket);
      let seen = Buffer.alloc(0);
      const raw = options.rawProtocol;
      const onData = (data: Buffer) => {
        seen = Buffer.concat([seen, data]);
        const isH2 = startsLike(seen, H2_PREFACE);
        const isRaw = raw !== undefined && startsLike(seen, raw.preface);
        // Not enough to tell yet (HTTP/1.1's "TRACE" and the raw preface share their first bytes).
        if ((isH2 && seen.length < H2_PREFACE.length) || (isRaw && seen.length < raw.preface.length)) return;
        socket.off("data", onData);
        socket.pause();
        if (isRaw) {
          const rest = seen.subarray(raw.preface.length);
          if (rest.length > 0) socket.unshift(rest);
          raw.handle(socket, observe);
        } else {
          socket.unshift(seen);
          (isH2 ? h2 : h1).emit("connection", socket);
        }
        process.nextTick(() => socket.resume());
      };
      socket.on("data", onData);
    });
  }
  const server = front;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    close(graceMs = 500) {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        h1.closeIdleConnections();
        for (const s of sessions) s.close();
        // Clients keep connections open and streams may hang after a rejected
        // message; without a cut, close() would wait for them forever.
        setTimeout(() => {
          for (const s of sessions) s.destroy();
          for (const s of sockets) s.destroy();
        }, graceMs).unref();
      });
      return closing;
    },
  };
}

/** Whether the bytes seen so far agree with the start of `preface`. */
function startsLike(seen: Buffer, preface: Buffer): boolean {
  const n = Math.min(seen.length, preface.length);
  return seen.subarray(0, n).equals(preface.subarray(0, n));
}

function setSessionWindow(session: http2.Http2Session): void {
  try {
    if (!session.destroyed && session.socket) session.setLocalWindowSize(HTTP2_WINDOW_BYTES);
  } catch {
    // The session is not connected yet; the "connect" listener retries.
  }
}

/**
 * Maps TrainfsErrors (and anything else thrown by a handler, including while
 * a response streams) to ConnectErrors with the right code, and logs each
 * call. Unexpected errors are logged in full, since the caller only sees
 * Internal.
 */
function callLogger(logger: Logger, quiet: ReadonlySet<string>): CallObserver {
  return (method) => {
    const started = performance.now();
    return (err) => {
      const ms = Math.round(performance.now() - started);
      const ce = err === undefined ? undefined : toConnectError(err);
      if (ce?.code === Code.Internal) logger.error({ err, method }, "internal error in RPC handler");
      const level = quiet.has(method) && !ce ? "debug" : "info";
      // Codes as metrics, the CLI and TrainfsError spell them (not_found, not NotFound).
      logger[level]({ method, code: ce ? codeName(ce.code) : "ok", ms }, "rpc");
      return ce;
    };
  };
}

function authorizeInterceptor(authorize: NonNullable<RpcServerOptions["authorize"]>): Interceptor {
  return (next) => (req) => {
    authorize(req.method, req.header, (name) => req.contextValues.set(callerNameKey, name));
    return next(req);
  };
}

/** A Connect code as snake case: `not_found`, `permission_denied`, `ok`. */
export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
