import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { toConnectError } from "./errors.js";
import type { Logger } from "./logger.js";
import { HTTP2_WINDOW_BYTES, MAX_MESSAGE_BYTES } from "./rpc-limits.js";

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
}

/**
 * An HTTP/2 (h2c) server for Connect, gRPC and gRPC-web with raised flow-control
 * windows, explicit message limits and no compression (chunk data is
 * incompressible, and compressing it cost most of the throughput here).
 */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const handler = connectNodeAdapter({
    routes: options.routes,
    interceptors: [errorMappingInterceptor(options.logger)],
    acceptCompression: [],
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
  });
  const server = http2.createServer({ settings: { initialWindowSize: HTTP2_WINDOW_BYTES } }, handler);
  // Small messages (metadata calls, acknowledgements) must not wait for
  // Nagle's algorithm and delayed ACKs: tens of milliseconds per call.
  server.on("connection", (socket: import("node:net").Socket) => socket.setNoDelay(true));
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.once("connect", () => setSessionWindow(session));
    setSessionWindow(session);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    close(graceMs = 500) {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.close();
        // Clients keep sessions open and streams may hang after a rejected
        // message; without a cut, close() would wait for them forever.
        setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, graceMs).unref();
      });
      return closing;
    },
  };
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
 * a response streams) to ConnectErrors with the right code. Unexpected errors
 * are logged, since the caller only sees Internal.
 */
function errorMappingInterceptor(logger: Logger): Interceptor {
  const map = (err: unknown, method: string) => {
    const ce = toConnectError(err);
    if (ce.code === 13 /* Internal */) logger.error({ err, method }, "internal error in RPC handler");
    return ce;
  };
  return (next) => async (req) => {
    const method = req.method.name;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const source = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* source;
          } catch (err) {
            throw map(err, method);
          }
        })(),
      };
    } catch (err) {
      throw map(err, method);
    }
  };
}
