import { XMLParser } from "fast-xml-parser";
import { S3Error } from "./s3-error.js";

export const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";

// `htmlEntities` decodes numeric character references (`&#34;`), which Go's
// encoder writes for the quotes around ETags (rclone, aws-sdk-go); it also
// accepts HTML's named entities, a leniency S3 clients never rely on.
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: false, htmlEntities: true, isArray: (name) => ["Part", "Object", "Grant"].includes(name) });

/** An S3 response document: `root` in S3's namespace, `body` as nested objects (arrays repeat an element). */
export function xmlDocument(root: string, body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${element(root, { "@_xmlns": S3_NAMESPACE, ...body })}`;
}

/** An error document (no namespace, as S3 sends them). */
export function errorDocument(code: string, message: string, resource: string, requestId: string, extra: Record<string, string> = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${element("Error", { Code: code, Message: message, ...extra, Resource: resource, RequestId: requestId })}`;
}

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/** Text or an attribute value with XML's five special characters escaped. */
export function escapeXml(text: string): string {
  return /[&<>"']/.test(text) ? text.replace(/[&<>"']/g, (c) => ENTITIES[c]!) : text;
}

/**
 * One element and its children, written directly: the shapes S3's answers
 * need (nested objects, arrays repeating an element, `@_name` attributes,
 * `#text`) and nothing else. Not fast-xml-parser's XMLBuilder, which the
 * gateway used before: it took 20-100 ms of CPU to write a 1,000-key
 * listing on the benchmark's machine, this a millisecond or two (one string
 * built by concatenation).
 */
function element(name: string, value: unknown): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) {
    let out = "";
    for (const v of value) out += element(name, v);
    return out;
  }
  if (value === null) return `<${name}/>`;
  if (typeof value !== "object") return `<${name}>${escapeXml(String(value))}</${name}>`;
  let attributes = "";
  let children = "";
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.startsWith("@_")) attributes += ` ${k.slice(2)}="${escapeXml(String(v))}"`;
    else if (k === "#text") children += escapeXml(String(v));
    else children += element(k, v);
  }
  return `<${name}${attributes}>${children}</${name}>`;
}

/** Parses a request document; MalformedXML when it is not one, or its root is not `root`. */
export function parseXml(text: string, root: string): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text, true) as Record<string, unknown>;
  } catch (err) {
    throw new S3Error("MalformedXML", `the XML you provided was not well-formed: ${(err as Error).message}`);
  }
  const body = doc[root];
  if (body === undefined) throw new S3Error("MalformedXML", `the XML you provided has no <${root}> element`);
  return (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
}
