import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecurity, MiniCluster, randomFile, sha256File, startS3Gateway, type S3GatewayHandle } from "../src/index.js";
import { workDir } from "./helpers.js";
import { s3Client } from "./s3-helpers.js";
import { awsEnv, boto3Python, debianTool, rcloneEnv, skipReason, tool, toolEnv } from "./s3-tool-helpers.js";

// Real S3 clients from Debian (scripts/ensure-s3-tools.sh installs them)
// against a gateway in front of a MiniCluster; every round trip byte for byte.

const MiB = 1024 * 1024;
const aws = debianTool("aws");
const rclone = debianTool("rclone");
const s3cmd = debianTool("s3cmd");
const curl = debianTool("curl");
const python = boto3Python();

let c: MiniCluster;
let gw: S3GatewayHandle;

beforeAll(async () => {
  c = await MiniCluster.start({ security: generateSecurity() });
  gw = await startS3Gateway(c);
});

afterAll(async () => {
  await gw?.stop();
  await c?.shutdown();
});

const key = () => gw.credentials[0]!;
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Every file below `dir`, by path relative to it, with its SHA-256. */
async function treeHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(dir, path), await sha256File(path));
  }
  return out;
}

describe("S3 gateway with real tools from Debian", () => {
  it.skipIf(skipReason("aws CLI test", [["aws (awscli)", aws !== undefined]]))(
    "aws: s3 mb/cp/mv/ls/sync/rm --recursive (cp and mv between keys over 8 MiB in copied parts), s3api multipart, copy-object and head-object",
    async () => {
      const dir = await workDir();
      const env = await awsEnv(join(dir, "home"), key());
      // Transfers without progress lines (an option of cp and sync only).
      const a = (...args: string[]) => tool(aws!, ["--endpoint-url", gw.address, ...args, ...(["cp", "sync"].includes(args[1]!) ? ["--no-progress"] : [])], env, dir);
      const api = async (...args: string[]) => JSON.parse(await tool(aws!, ["--endpoint-url", gw.address, "--output", "json", "s3api", ...args], env, dir)) as Record<string, unknown>;

      await a("s3", "mb", "s3://aws-tools");
      expect(await c.client().exists("/aws-tools")).toBe(true);
      // Over aws's 8 MiB multipart threshold: cp sends it in parts.
      await randomFile(join(dir, "big.bin"), 9 * MiB + 5);
      await a("s3", "cp", join(dir, "big.bin"), "s3://aws-tools/single/big.bin");
      expect(await a("s3", "ls", "s3://aws-tools/single/")).toMatch(new RegExp(`\\s${9 * MiB + 5} big\\.bin\\n`));
      expect(sha256(await c.client().readFile("/aws-tools/single/big.bin"))).toBe(await sha256File(join(dir, "big.bin")));
      await a("s3", "cp", "s3://aws-tools/single/big.bin", join(dir, "big.copy"));
      expect(await sha256File(join(dir, "big.copy"))).toBe(await sha256File(join(dir, "big.bin")));
      // Bucket to bucket over 8 MiB: aws copies in parts (UploadPartCopy); mv then deletes the source.
      await a("s3", "cp", "s3://aws-tools/single/big.bin", "s3://aws-tools/copied/big.bin");
      await a("s3", "mv", "s3://aws-tools/copied/big.bin", "s3://aws-tools/moved/big.bin");
      expect(await c.client().exists("/aws-tools/copied")).toBe(false);
      expect(sha256(await c.client().readFile("/aws-tools/moved/big.bin"))).toBe(await sha256File(join(dir, "big.bin")));

      // sync a tree up and back down.
      const up = join(dir, "up");
      await mkdir(join(up, "a", "b"), { recursive: true });
      await writeFile(join(up, "empty"), "");
      await writeFile(join(up, "a", "text.txt"), "hello, aws\n");
      for (let i = 0; i < 6; i++) await writeFile(join(up, "a", "b", `f${i}.bin`), randomBytes(i * 300_000 + i));
      await randomFile(join(up, "a", "large.bin"), 10 * MiB);
      await a("s3", "sync", up, "s3://aws-tools/tree/");
      await a("s3", "sync", "s3://aws-tools/tree/", join(dir, "down"));
      const sent = await treeHashes(up);
      expect(sent.size).toBe(9);
      expect(await treeHashes(join(dir, "down"))).toEqual(sent);
      // A second sync finds nothing to do.
      expect((await a("s3", "sync", up, "s3://aws-tools/tree/")).trim()).toBe("");

      // Multipart by hand: 5 MiB + 5 MiB + 1 MiB.
      const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(MiB + 3)];
      const created = await api("create-multipart-upload", "--bucket", "aws-tools", "--key", "mp/object.bin", "--content-type", "application/x-mp");
      const uploadId = created.UploadId as string;
      const etags: string[] = [];
      for (const [i, part] of parts.entries()) {
        await writeFile(join(dir, `part${i}`), part);
        const res = await api("upload-part", "--bucket", "aws-tools", "--key", "mp/object.bin", "--upload-id", uploadId, "--part-number", String(i + 1), "--body", join(dir, `part${i}`));
        etags.push(res.ETag as string);
      }
      const listed = await api("list-parts", "--bucket", "aws-tools", "--key", "mp/object.bin", "--upload-id", uploadId);
      expect((listed.Parts as Array<{ PartNumber: number }>).map((p) => p.PartNumber)).toEqual([1, 2, 3]);
      await writeFile(join(dir, "parts.json"), JSON.stringify({ Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) }));
      const done = await api("complete-multipart-upload", "--bucket", "aws-tools", "--key", "mp/object.bin", "--upload-id", uploadId, "--multipart-upload", `file://${join(dir, "parts.json")}`);
      const md5s = Buffer.concat(parts.map((p) => createHash("md5").update(p).digest()));
      expect(done.ETag).toBe(`"${createHash("md5").update(md5s).digest("hex")}-3"`);
      const whole = Buffer.concat(parts);
      const head = await api("head-object", "--bucket", "aws-tools", "--key", "mp/object.bin");
      expect(head).toMatchObject({ ContentLength: whole.length, ETag: done.ETag, ContentType: "application/x-mp" });
      await api("get-object", "--bucket", "aws-tools", "--key", "mp/object.bin", join(dir, "mp.out"));
      expect(sha256(await readFile(join(dir, "mp.out")))).toBe(sha256(whole));

      // copy-object, then head-object of the copy.
      await api("copy-object", "--bucket", "aws-tools", "--key", "copies/object.bin", "--copy-source", "aws-tools/mp/object.bin");
      expect(await api("head-object", "--bucket", "aws-tools", "--key", "copies/object.bin")).toMatchObject({ ContentLength: whole.length, ContentType: "application/x-mp" });
      expect(sha256(await c.client().readFile("/aws-tools/copies/object.bin"))).toBe(sha256(whole));
      // head-object of an absent key: aws exits non-zero with S3's 404.
      await expect(api("head-object", "--bucket", "aws-tools", "--key", "absent")).rejects.toThrow(/404|Not Found/);

      // rm --recursive empties the bucket, and TrainFS keeps no empty prefixes.
      await a("s3", "rm", "--recursive", "s3://aws-tools/");
      expect((await a("s3", "ls", "--recursive", "s3://aws-tools/")).trim()).toBe("");
      expect(await c.client().list("/aws-tools")).toEqual([]);
      await a("s3", "rb", "s3://aws-tools");
      expect(await c.client().exists("/aws-tools")).toBe(false);
    },
  );

  it.skipIf(skipReason("rclone test", [["rclone", rclone !== undefined]]))(
    "rclone: copy then check of 200 files of mixed sizes, 0 B to 20 MiB",
    async () => {
      const dir = await workDir();
      const local = join(dir, "tree");
      // 200 files in 10 directories: mostly small, every 25th 1-4 MiB, two of 20 MiB, one empty.
      const sizes: number[] = [];
      for (let i = 0; i < 200; i++) {
        const size = i === 0 ? 0 : i === 100 || i === 199 ? 20 * MiB : i % 25 === 0 ? (1 + (i % 4)) * MiB + i : (i * 7919) % (96 * 1024);
        sizes.push(size);
        await mkdir(join(local, `d${i % 10}`), { recursive: true });
        await randomFile(join(local, `d${i % 10}`, `file-${i}.bin`), size);
      }
      expect(Math.max(...sizes)).toBe(20 * MiB);
      // An 8 MiB upload cutoff sends the 20 MiB files in parts (rclone keeps their MD5 in x-amz-meta-md5chksum).
      const env = await rcloneEnv(join(dir, "home"), "tfs", gw.address, key(), { RCLONE_S3_UPLOAD_CUTOFF: "8M", RCLONE_S3_CHUNK_SIZE: "5M" });
      await c.client().mkdir("/rclone-tools");
      await tool(rclone!, ["copy", local, "tfs:rclone-tools/tree"], env);
      // check exits non-zero on any difference (shown failing below).
      await tool(rclone!, ["check", local, "tfs:rclone-tools/tree"], env);
      // And byte for byte, downloading every object.
      await tool(rclone!, ["check", "--download", local, "tfs:rclone-tools/tree"], env);
      const summary = await c.client().du("/rclone-tools/tree");
      expect({ files: summary.files, bytes: summary.bytes }).toEqual({ files: 200, bytes: sizes.reduce((a, b) => a + b, 0) });
      // check does fail on a difference: one object changed behind rclone's back.
      await c.client().writeFile("/rclone-tools/tree/d3/file-3.bin", "not the same", { overwrite: true });
      await expect(tool(rclone!, ["check", local, "tfs:rclone-tools/tree"], env)).rejects.toThrow(/1 differences found/);
    },
  );

  it.skipIf(skipReason("s3cmd test", [["s3cmd", s3cmd !== undefined]]))("s3cmd: put, get and ls (SigV4, path-style, plain HTTP)", async () => {
    const dir = await workDir();
    const host = new URL(gw.address).host;
    // Keys in its config file rather than on the command line (ps shows arguments).
    await writeFile(
      join(dir, "s3cfg"),
      `[default]\naccess_key = ${key().accessKeyId}\nsecret_key = ${key().secretAccessKey}\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n`,
      { mode: 0o600 },
    );
    const env = await toolEnv(join(dir, "home"), {});
    const s = (...args: string[]) => tool(s3cmd!, ["-c", join(dir, "s3cfg"), "--no-progress", ...args], env, dir);
    await s("mb", "s3://s3cmd-tools");
    await writeFile(join(dir, "small.txt"), "hello, s3cmd\n");
    // 20 MiB: s3cmd sends it in 15 MiB parts.
    await randomFile(join(dir, "big.bin"), 20 * MiB);
    await s("put", join(dir, "small.txt"), "s3://s3cmd-tools/s/small.txt");
    await s("put", join(dir, "big.bin"), "s3://s3cmd-tools/s/big.bin");
    const listing = await s("ls", "s3://s3cmd-tools/s/");
    expect(listing).toMatch(/\s13\s+s3:\/\/s3cmd-tools\/s\/small\.txt/);
    expect(listing).toMatch(new RegExp(`\\s${20 * MiB}\\s+s3://s3cmd-tools/s/big\\.bin`));
    await s("get", "--force", "s3://s3cmd-tools/s/small.txt", join(dir, "small.out"));
    await s("get", "--force", "s3://s3cmd-tools/s/big.bin", join(dir, "big.out"));
    expect(await readFile(join(dir, "small.out"), "utf8")).toBe("hello, s3cmd\n");
    expect(await sha256File(join(dir, "big.out"))).toBe(await sha256File(join(dir, "big.bin")));
    expect((await c.client().stat("/s3cmd-tools/s/big.bin")).size).toBe(20 * MiB);
  });

  it.skipIf(skipReason("boto3 test", [["python3-boto3", python !== undefined]]))("boto3: put, get, a multipart upload_file and a paginated list", async () => {
    const dir = await workDir();
    await c.client().mkdir("/boto-tools");
    await randomFile(join(dir, "large.bin"), 12 * MiB + 1);
    const script = `
import hashlib, json, sys
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
endpoint, key_id, secret, large, out = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
result = {}
for i in range(7):
    s3.put_object(Bucket="boto-tools", Key=f"many/k{i:02d}.txt", Body=(f"object {i}\\n" * (i + 1)).encode(), Metadata={"index": str(i)})
got = s3.get_object(Bucket="boto-tools", Key="many/k03.txt")
result["body"] = got["Body"].read().decode()
result["meta"] = got["Metadata"]
s3.upload_file(large, "boto-tools", "large.bin", Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
s3.download_file("boto-tools", "large.bin", out)
result["etag"] = s3.head_object(Bucket="boto-tools", Key="large.bin")["ETag"]
pages = s3.get_paginator("list_objects_v2").paginate(Bucket="boto-tools", Prefix="many/", PaginationConfig={"PageSize": 3})
result["pages"] = [[o["Key"] for o in page.get("Contents", [])] for page in pages]
print(json.dumps(result))
`;
    await writeFile(join(dir, "boto.py"), script);
    const env = await toolEnv(join(dir, "home"), { AWS_EC2_METADATA_DISABLED: "true" });
    const out = JSON.parse(await tool(python!, [join(dir, "boto.py"), gw.address, key().accessKeyId, key().secretAccessKey, join(dir, "large.bin"), join(dir, "large.out")], env)) as {
      body: string;
      meta: Record<string, string>;
      etag: string;
      pages: string[][];
    };
    expect(out.body).toBe("object 3\n".repeat(4));
    expect(out.meta).toEqual({ index: "3" });
    expect(out.etag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect(await sha256File(join(dir, "large.out"))).toBe(await sha256File(join(dir, "large.bin")));
    expect(out.pages).toEqual([
      ["many/k00.txt", "many/k01.txt", "many/k02.txt"],
      ["many/k03.txt", "many/k04.txt", "many/k05.txt"],
      ["many/k06.txt"],
    ]);
    expect((await c.client().readFile("/boto-tools/many/k06.txt")).toString()).toBe("object 6\n".repeat(7));
  });

  it.skipIf(skipReason("curl presigned test", [["curl", curl !== undefined], ["aws (awscli)", aws !== undefined]]))(
    "curl: GET with a URL presigned by `aws s3 presign`, PUT with one presigned by the AWS SDK",
    async () => {
      const dir = await workDir();
      const data = randomBytes(3 * MiB + 17);
      await c.client().writeFile("/curl-tools/get/data.bin", data);
      const env = await awsEnv(join(dir, "home"), key());
      const getUrl = (await tool(aws!, ["--endpoint-url", gw.address, "s3", "presign", "s3://curl-tools/get/data.bin", "--expires-in", "300"], env)).trim();
      expect(getUrl).toContain("X-Amz-Signature=");
      await tool(curl!, ["-sS", "--fail", "-o", join(dir, "got.bin"), getUrl], env);
      expect(sha256(await readFile(join(dir, "got.bin")))).toBe(sha256(data));
      // The URL with its signature altered is refused with S3's error.
      const bad = getUrl.replace(/X-Amz-Signature=([0-9a-f])/, (_, ch: string) => `X-Amz-Signature=${ch === "0" ? "1" : "0"}`);
      expect(await tool(curl!, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", bad], env)).toBe("403");

      const s3 = s3Client(gw.address, key());
      try {
        const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: "curl-tools", Key: "put/upload.bin" }), { expiresIn: 300 });
        const upload = randomBytes(2 * MiB + 5);
        await writeFile(join(dir, "upload.bin"), upload);
        await tool(curl!, ["-sS", "--fail", "-T", join(dir, "upload.bin"), putUrl], env);
        expect(sha256(await c.client().readFile("/curl-tools/put/upload.bin"))).toBe(sha256(upload));
        expect((await stat(join(dir, "upload.bin"))).size).toBe(upload.length);
        // The PUT URL does not allow a GET of the same key.
        expect(await tool(curl!, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", putUrl], env)).toBe("403");
      } finally {
        s3.destroy();
      }
    },
  );
});
