import { describe, expect, it } from "vitest";
import { parseXml, xmlDocument } from "./xml.js";

describe("parseXml", () => {
  it("decodes numeric character references, as Go's encoder writes quotes (rclone's CompleteMultipartUpload)", () => {
    const doc = parseXml(
      "<CompleteMultipartUpload><Part><ETag>&#34;b069dcb6&#34;</ETag><PartNumber>1</PartNumber></Part><Part><ETag>&quot;x&#x41;&quot;</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>",
      "CompleteMultipartUpload",
    );
    expect((doc.Part as Array<{ ETag: string }>).map((p) => p.ETag)).toEqual(['"b069dcb6"', '"xA"']);
  });

  it("refuses a document of another root", () => {
    expect(() => parseXml("<Other/>", "Delete")).toThrow(/no <Delete> element/);
  });
});

describe("xmlDocument", () => {
  it("writes nested objects, repeated elements, attributes, text and escapes as S3's answers need", () => {
    const doc = xmlDocument("Root", { A: `a<>&"'`, B: 1, C: true, D: "", E: [], F: [{ G: 1 }, { G: 2 }], H: { "#text": "" }, I: { "#text": "t&" }, K: undefined, L: {} });
    expect(doc).toBe(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Root xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><A>a&lt;&gt;&amp;&quot;&apos;</A><B>1</B><C>true</C><D></D><F><G>1</G></F><F><G>2</G></F><H></H><I>t&amp;</I><L></L></Root>`,
    );
    // What it writes, the parser reads back.
    expect(parseXml(doc, "Root").A).toBe(`a<>&"'`);
  });
});
