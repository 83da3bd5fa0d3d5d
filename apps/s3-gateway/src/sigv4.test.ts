import { describe, expect, it } from "vitest";
import { decodeAwsChunked } from "./body-decoder.js";
import { S3Error } from "./s3-error.js";
import { SigV4Verifier, amzDateToMs, canonicalRequest, hmac, signingKey, stringToSign } from "./sigv4.js";

// The examples of AWS's "Signature Version 4 (AWS SigV4)" pages for S3:
// "Examples: Signature Calculations" and "Signature Calculations for the
// Authorization Header: Transferring Payload in Multiple Chunks".
const KEY = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", access: "read-write" as const };
const AT = amzDateToMs("20130524T000000Z")!;
const verifier = (now = AT) => new SigV4Verifier([KEY], () => now);
const auth = (signedHeaders: string, signature: string) =>
  `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${signature}`;

const getObject = {
  method: "GET",
  path: "/test.txt",
  query: [] as Array<[string, string]>,
  headers: {
    host: "examplebucket.s3.amazonaws.com",
    range: "bytes=0-9",
    "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "x-amz-date": "20130524T000000Z",
    authorization: auth("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
  },
};

describe("SigV4 against AWS's examples", () => {
  it("GET Object: canonical request and signature", () => {
    const canonical = canonicalRequest({ ...getObject, signedHeaders: ["host", "range", "x-amz-content-sha256", "x-amz-date"], payloadHash: getObject.headers["x-amz-content-sha256"] });
    expect(canonical).toBe(
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    const key = signingKey(KEY.secretAccessKey, "20130524", "us-east-1", "s3");
    expect(hmac(key, stringToSign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canonical)).toString("hex")).toBe(
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
    expect(verifier().verify(getObject).credential.accessKeyId).toBe("AKIAIOSFODNN7EXAMPLE");
  });

  it("PUT Object with a Date header and a key with '$'", () => {
    const req = {
      method: "PUT",
      path: "/test$file.text",
      query: [] as Array<[string, string]>,
      headers: {
        date: "Fri, 24 May 2013 00:00:00 GMT",
        host: "examplebucket.s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        authorization: auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
      },
    };
    expect(verifier().verify(req).payloadHash).toBe("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  });

  it("GET Bucket lifecycle and list objects (query strings)", () => {
    const headers = (signature: string) => ({
      host: "examplebucket.s3.amazonaws.com",
      "x-amz-date": "20130524T000000Z",
      "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      authorization: auth("host;x-amz-content-sha256;x-amz-date", signature),
    });
    expect(() =>
      verifier().verify({ method: "GET", path: "/", query: [["lifecycle", ""]], headers: headers("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543") }),
    ).not.toThrow();
    expect(() =>
      verifier().verify({ method: "GET", path: "/", query: [["max-keys", "2"], ["prefix", "J"]], headers: headers("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") }),
    ).not.toThrow();
  });

  it("a presigned GET", () => {
    const query: Array<[string, string]> = [
      ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
      ["X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"],
      ["X-Amz-Date", "20130524T000000Z"],
      ["X-Amz-Expires", "86400"],
      ["X-Amz-SignedHeaders", "host"],
      ["X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"],
    ];
    const req = { method: "GET", path: "/test.txt", query, headers: { host: "examplebucket.s3.amazonaws.com" } };
    expect(verifier(AT + 3600_000).verify(req).payloadHash).toBe("UNSIGNED-PAYLOAD");
    expect(() => verifier(AT + 86_401_000).verify(req)).toThrow(expect.objectContaining({ code: "AccessDenied", message: expect.stringContaining("expired") }));
  });

  it("refuses a wrong signature, an unknown key, a skewed clock and anonymous requests", () => {
    const bad = { ...getObject, headers: { ...getObject.headers, range: "bytes=0-10" } };
    expect(() => verifier().verify(bad)).toThrow(expect.objectContaining({ code: "SignatureDoesNotMatch" }));
    const other = new SigV4Verifier([{ ...KEY, accessKeyId: "OTHER" }], () => AT);
    expect(() => other.verify(getObject)).toThrow(expect.objectContaining({ code: "InvalidAccessKeyId" }));
    expect(() => verifier(AT + 16 * 60_000).verify(getObject)).toThrow(expect.objectContaining({ code: "RequestTimeTooSkewed", status: 403 }));
    expect(() => verifier(AT + 14 * 60_000).verify(getObject)).not.toThrow();
    const { authorization: _, ...anonymous } = getObject.headers;
    expect(() => verifier().verify({ ...getObject, headers: anonymous })).toThrow(expect.objectContaining({ code: "AccessDenied" }));
  });
});

describe("aws-chunked bodies", () => {
  const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
  const chunked = {
    method: "PUT",
    path: "/examplebucket/chunkObject.txt",
    query: [] as Array<[string, string]>,
    headers: {
      host: "s3.amazonaws.com",
      "x-amz-date": "20130524T000000Z",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": "66560",
      "content-length": "66824",
      authorization: auth("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class", seed),
    },
  };
  const body = (signatures: string[]) =>
    Buffer.concat([
      Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`),
      Buffer.alloc(65536, "a"),
      Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`),
      Buffer.alloc(1024, "a"),
      Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n\r\n`),
    ]);
  const AWS_SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
  ];
  async function decode(data: Buffer, pieceSize: number) {
    const a = verifier().verify(chunked);
    expect(a.seedSignature).toBe(seed);
    const source = (async function* () {
      for (let i = 0; i < data.length; i += pieceSize) yield data.subarray(i, i + pieceSize);
    })();
    const out: Buffer[] = [];
    for await (const b of decodeAwsChunked(source, { signing: { key: a.key, amzDate: a.amzDate, scope: a.scope, seedSignature: a.seedSignature } })) out.push(b);
    return Buffer.concat(out);
  }

  it("verifies AWS's example chunk signatures, however the bytes arrive", async () => {
    for (const size of [1, 7, 8192, 1 << 20]) expect((await decode(body(AWS_SIGNATURES), size)).equals(Buffer.alloc(66560, "a"))).toBe(true);
  });

  it("refuses a chunk whose signature does not match, and a body cut short", async () => {
    const wrong = [...AWS_SIGNATURES];
    wrong[1] = "0".repeat(64);
    await expect(decode(body(wrong), 4096)).rejects.toMatchObject({ code: "SignatureDoesNotMatch" });
    await expect(decode(body(AWS_SIGNATURES).subarray(0, 66_000), 4096)).rejects.toMatchObject({ code: "IncompleteBody" });
  });

  it("decodes an unsigned body with trailers", async () => {
    const data = Buffer.from("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
    let trailers = new Map<string, string>();
    const out: Buffer[] = [];
    for await (const b of decodeAwsChunked((async function* () { yield data; })(), { onTrailers: (t) => (trailers = t) })) out.push(b);
    expect(Buffer.concat(out).toString()).toBe("hello world");
    expect(trailers.get("x-amz-checksum-crc32")).toBe("DUoRhQ==");
    const malformed = Buffer.from("zz\r\nhello\r\n");
    await expect((async () => { for await (const _ of decodeAwsChunked((async function* () { yield malformed; })(), {})); })()).rejects.toBeInstanceOf(S3Error);
  });
});
