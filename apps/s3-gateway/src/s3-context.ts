import type { IncomingMessage, ServerResponse } from "node:http";
import type { TrainfsClient } from "@trainfs/client";
import type { Logger } from "@trainfs/common";
import type { S3GatewayConfig } from "./config.js";
import type { Authenticated } from "./sigv4.js";

/** One S3 request as the operations see it. */
export interface S3Request {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  bucket: string;
  key: string;
  query: Map<string, string>;
  auth: Authenticated;
  requestId: string;
  /** Body bytes received and response bytes sent, for the metrics. */
  bytesIn: number;
  bytesOut: number;
}

/** What the operations work with. */
export interface GatewayParts {
  fs: TrainfsClient;
  config: S3GatewayConfig;
  logger: Logger;
  now: () => number;
}

export function header(r: S3Request, name: string): string | undefined {
  const v = r.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
