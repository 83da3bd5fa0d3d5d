import { XMLBuilder, XMLParser } from "fast-xml-parser";
import { S3Error } from "./s3-error.js";

export const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_", suppressEmptyNode: false, processEntities: true });
// `htmlEntities` decodes numeric character references (`&#34;`), which Go's
// encoder writes for the quotes around ETags (rclone, aws-sdk-go); it also
// accepts HTML's named entities, a leniency S3 clients never rely on.
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: false, htmlEntities: true, isArray: (name) => ["Part", "Object"].includes(name) });

/** An S3 response document: `root` in S3's namespace, `body` as nested objects (arrays repeat an element). */
export function xmlDocument(root: string, body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: { "@_xmlns": S3_NAMESPACE, ...body } })}`;
}

/** An error document (no namespace, as S3 sends them). */
export function errorDocument(code: string, message: string, resource: string, requestId: string, extra: Record<string, string> = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ Error: { Code: code, Message: message, ...extra, Resource: resource, RequestId: requestId } })}`;
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
