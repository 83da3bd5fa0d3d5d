import type { ServerResponse } from "node:http";
import { xmlDocument } from "./xml.js";
import type { S3Request } from "./s3-context.js";

export function sendXml(r: S3Request, status: number, root: string, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  const text = Buffer.from(xmlDocument(root, body));
  r.bytesOut += text.length;
  r.res.writeHead(status, { ...headers, "content-type": "application/xml", "content-length": String(text.length) });
  r.res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, "content-length": "0" });
  res.end();
}
