// The S3 part of the container smoke test, run by smoke-test.sh with the
// gateway image's Node in the cluster's network namespace (the images have no
// curl and no AWS SDK):
//   node s3-smoke.mjs <gateway address> <access key> <secret> <file to put> <file to get into>
// It makes a bucket, PUTs the file and GETs it back through presigned URLs
// (SigV4 query signing, written here by hand from AWS's description so that
// no package is needed in the image), lists the bucket with a header-signed
// request, and checks that an unsigned request is refused.
import { createHash, createHmac } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";

const [address, accessKey, secret, source, target] = process.argv.slice(2);
const region = "us-east-1";
const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();
const encode = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function amzDate() {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

function signature(date, canonical) {
  const scope = `${date.slice(0, 8)}/${region}/s3/aws4_request`;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date.slice(0, 8)), region), "s3"), "aws4_request");
  return { scope, signature: hmac(key, ["AWS4-HMAC-SHA256", date, scope, sha256(canonical)].join("\n")).toString("hex") };
}

/** A presigned URL for `method` on `path` (already URI-encoded), valid 5 minutes. */
function presign(method, path) {
  const url = new URL(address);
  const date = amzDate();
  const { scope } = signature(date, "");
  const query = {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${accessKey}/${scope}`,
    "X-Amz-Date": date,
    "X-Amz-Expires": "300",
    "X-Amz-SignedHeaders": "host",
  };
  const canonicalQuery = Object.keys(query).sort().map((k) => `${encode(k)}=${encode(query[k])}`).join("&");
  const canonical = [method, path, canonicalQuery, `host:${url.host}\n`, "host", "UNSIGNED-PAYLOAD"].join("\n");
  return `${address}${path}?${canonicalQuery}&X-Amz-Signature=${signature(date, canonical).signature}`;
}

/** A request signed in the Authorization header, with an empty body. */
async function signedFetch(method, path) {
  const url = new URL(address);
  const date = amzDate();
  const payload = sha256("");
  const canonical = [method, path, "", `host:${url.host}\nx-amz-content-sha256:${payload}\nx-amz-date:${date}\n`, "host;x-amz-content-sha256;x-amz-date", payload].join("\n");
  const { scope, signature: sig } = signature(date, canonical);
  return fetch(`${address}${path}`, {
    method,
    headers: {
      "x-amz-date": date,
      "x-amz-content-sha256": payload,
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${sig}`,
    },
  });
}

function fail(message) {
  console.error(`s3 smoke: ${message}`);
  process.exit(1);
}

const made = await signedFetch("PUT", "/smoke-s3");
if (made.status !== 200) fail(`CreateBucket answered ${made.status}: ${await made.text()}`);
const data = await readFile(source);
const put = await fetch(presign("PUT", "/smoke-s3/dir/in.bin"), { method: "PUT", body: data });
if (put.status !== 200) fail(`presigned PUT answered ${put.status}: ${await put.text()}`);
const md5 = createHash("md5").update(data).digest("hex");
if (put.headers.get("etag") !== `"${md5}"`) fail(`PUT's ETag ${put.headers.get("etag")} is not the MD5 ${md5}`);
const got = await fetch(presign("GET", "/smoke-s3/dir/in.bin"));
if (got.status !== 200) fail(`presigned GET answered ${got.status}: ${await got.text()}`);
await writeFile(target, Buffer.from(await got.arrayBuffer()));
const listed = await signedFetch("GET", "/smoke-s3");
const listing = await listed.text();
if (listed.status !== 200 || !listing.includes("<Key>dir/in.bin</Key>") || !listing.includes(`<Size>${data.length}</Size>`)) fail(`ListObjects answered ${listed.status}: ${listing}`);
const anonymous = await fetch(`${address}/smoke-s3/dir/in.bin`);
const refusal = await anonymous.text();
if (anonymous.status !== 403 || !refusal.includes("<Code>AccessDenied</Code>")) fail(`an unsigned GET answered ${anonymous.status}: ${refusal}`);
console.log(`s3 smoke: bucket made, ${data.length} bytes put and got by presigned URLs (ETag ${md5}), listed, anonymous GET refused`);
