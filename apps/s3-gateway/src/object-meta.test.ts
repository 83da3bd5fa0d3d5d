import { describe, expect, it } from "vitest";
import { metadataAttributes } from "./object-meta.js";

describe("metadataAttributes", () => {
  it("keeps Content-Encoding as given, without the aws-chunked token that only framed the request's body", () => {
    const encoding = (value: string) => metadataAttributes({ "content-encoding": value })["content-encoding"];
    expect(encoding("deflate, gzip")).toBe("deflate, gzip");
    expect(encoding("gzip,aws-chunked")).toBe("gzip");
    expect(encoding("aws-chunked, gzip")).toBe("gzip");
    expect(encoding("deflate, aws-chunked, gzip")).toBe("deflate, gzip");
    expect(encoding("aws-chunked")).toBeUndefined();
    expect(encoding("aws-chunked, aws-chunked")).toBeUndefined();
  });

  it("keeps x-amz-meta-* under meta, and refuses more than S3's 2 KiB of it", () => {
    expect(metadataAttributes({ "x-amz-meta-colour": "red", "content-type": "text/plain" })).toEqual({ "content-type": "text/plain", meta: JSON.stringify({ colour: "red" }) });
    expect(() => metadataAttributes({ "x-amz-meta-big": "x".repeat(3000) })).toThrow(/MetadataTooLarge|2048/);
  });
});
