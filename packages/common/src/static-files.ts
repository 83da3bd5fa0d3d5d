import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import type * as http from "node:http";
import type * as http2 from "node:http2";

/** The types of what a Vite build emits; anything else is sent as bytes. */
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/**
 * Serves GET and HEAD of files under `root` (`/` is `/index.html`). The
 * path is decoded once and must stay under the root after normalization:
 * `..`, encoded slashes or backslashes, NUL bytes and dot files are refused
 * without touching the disk.
 */
export async function serveStaticFile(root: string, req: Req, res: Res): Promise<void> {
  const rootDir = resolve(root);
  const rawPath = (req.url ?? "/").split("?")[0]!;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return send(res, 400, "bad path\n");
  }
  if (path === "/" || path === "") path = "/index.html";
  const segments = path.split("/").slice(1);
  if (path.includes("\0") || path.includes("\\") || segments.some((s) => s === ".." || s.startsWith("."))) {
    return send(res, 404, "not found\n");
  }
  const file = resolve(rootDir, normalize(join(".", ...segments)));
  if (!file.startsWith(rootDir + sep)) return send(res, 404, "not found\n");
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return send(res, 404, "not found\n");
  const hashed = segments[0] === "assets";
  res.writeHead(200, {
    "content-type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": String(info.size),
    "x-content-type-options": "nosniff",
    // Vite names assets after their content; index.html must always be fresh.
    "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on("error", () => res.destroy());
  stream.pipe(res as http.ServerResponse);
}

function send(res: Res, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(text);
}
