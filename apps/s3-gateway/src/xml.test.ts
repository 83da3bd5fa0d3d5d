import { describe, expect, it } from "vitest";
import { parseXml } from "./xml.js";

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
