import type * as http from "node:http";
import type * as http2 from "node:http2";
import { cors } from "@connectrpc/connect";
import { REQUEST_ID_HEADER } from "@trainfs/core";

/** Headers a browser may send: Connect's and gRPC-web's, the bearer token, and the request id. */
const CORS_ALLOWED_HEADERS = [...cors.allowedHeaders, "Authorization", REQUEST_ID_HEADER].join(", ");

/**
 * CORS for pages of other origins (a console served elsewhere, or the
 * NameNode's console calling a DataNode). A request from an origin that is
 * neither allowed nor the server's own is refused with 403 before it reaches
 * a handler, preflight or not, so a foreign page cannot cause side effects
 * even without reading the answer. Returns false when it has answered.
 */
export function corsPolicy(
  allowed: readonly string[],
  exposeHeaders: readonly string[],
): (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => boolean {
  const any = allowed.includes("*");
  const origins = new Set(allowed.map((o) => o.toLowerCase()));
  const exposed = [...cors.exposedHeaders, REQUEST_ID_HEADER, ...exposeHeaders].join(", ");
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true; // not a browser's cross-origin-capable request
    const host = req.headers.host ?? req.headers[":authority"];
    const sameOrigin = typeof host === "string" && /^https?:\/\//.test(origin) && new URL(origin).host === host.toLowerCase();
    if (!sameOrigin && !any && !origins.has(origin.toLowerCase())) {
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8" });
      res.end(`origin ${origin} is not allowed here (see corsOrigins in docs/operations.md)\n`);
      return false;
    }
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("vary", "Origin");
    res.setHeader("access-control-expose-headers", exposed);
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "access-control-allow-methods": cors.allowedMethods.join(", "),
        "access-control-allow-headers": CORS_ALLOWED_HEADERS,
        "access-control-max-age": "7200",
      });
      res.end();
      return false;
    }
    return true;
  };
}
