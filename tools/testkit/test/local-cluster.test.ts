import { spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { TrainfsClient } from "@trainfs/client";
import { rejection, workDir } from "./helpers.js";
import { s3Client, s3Failure } from "./s3-helpers.js";

const require = createRequire(import.meta.url);
const localCluster = join(require.resolve("@trainfs/testkit/package.json"), "..", "dist", "local-cluster.js");

/** Runs the README's local cluster on ephemeral ports until it prints its banner; stops it by PID. */
async function startLocalCluster(dataDir: string): Promise<{ banner: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [localCluster, "--data-dir", dataDir, "--namenode-port", "0", "--datanode-port", "0", "--s3-port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      lines.push(line);
      if (line.startsWith("Press Ctrl-C")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`local cluster exited (${code}): ${lines.join("\n")}`)));
  });
  return {
    banner: lines.join("\n"),
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The S3 gateway's address and key pair, from the banner's ready-to-paste aws line. */
function printedS3(banner: string): { address: string; accessKeyId: string; secretAccessKey: string } {
  const m = /AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) AWS_DEFAULT_REGION=\S+ aws --endpoint-url (http:\S+) s3 ls/.exec(banner);
  if (!m) throw new Error(`no aws line in the banner:\n${banner}`);
  expect(banner).toContain(`S3 gateway ${m[3]}`);
  return { accessKeyId: m[1]!, secretAccessKey: m[2]!, address: m[3]! };
}

describe("the local cluster of the README", () => {
  it("makes its secret and token on first start, keeps them, and prints how to use them", async () => {
    const dir = await workDir();
    const first = await startLocalCluster(dir);
    let token: string;
    const firstBanner = first.banner;
    try {
      const namenode = /NameNode +(http:\S+)/.exec(first.banner)![1]!;
      expect(first.banner).toMatch(/export TRAINFS_TOKEN_FILE=\S*token/);
      expect((await stat(join(dir, "security.json"))).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, "token"))).mode & 0o777).toBe(0o600);
      token = (await readFile(join(dir, "token"), "utf8")).trim();
      const anonymous = new TrainfsClient({ namenode });
      expect((await rejection(anonymous.list("/"))).code).toBe("unauthenticated");
      anonymous.close();
      const client = new TrainfsClient({ namenode, token });
      await client.writeFile("/hello", "world");
      expect((await client.readFile("/hello")).toString()).toBe("world");
      client.close();

      // The S3 gateway answers a request signed with the printed key pair, and refuses another key.
      const printed = printedS3(first.banner);
      const stored = JSON.parse(await readFile(join(dir, "security.json"), "utf8")) as { s3: { accessKeyId: string; secretAccessKey: string } };
      expect(stored.s3).toEqual({ accessKeyId: printed.accessKeyId, secretAccessKey: printed.secretAccessKey });
      const s3 = s3Client(printed.address, printed);
      const writer = new TrainfsClient({ namenode, token });
      await writer.writeFile("/demo/sample.txt", "through S3");
      writer.close();
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: "demo" }));
      expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([["sample.txt", 10]]);
      const got = await s3.send(new GetObjectCommand({ Bucket: "demo", Key: "sample.txt" }));
      expect(await got.Body!.transformToString()).toBe("through S3");
      s3.destroy();
      const stranger = s3Client(printed.address, { accessKeyId: "TFSUNKNOWN0000", secretAccessKey: printed.secretAccessKey });
      expect((await s3Failure(stranger.send(new ListObjectsV2Command({ Bucket: "demo" })))).code).toBe("InvalidAccessKeyId");
      stranger.destroy();
    } finally {
      await first.stop();
    }
    // A restart keeps the same token (clients configured once keep working) and the data.
    const second = await startLocalCluster(dir);
    try {
      expect((await readFile(join(dir, "token"), "utf8")).trim()).toBe(token);
      const namenode = /NameNode +(http:\S+)/.exec(second.banner)![1]!;
      const client = new TrainfsClient({ namenode, token });
      expect((await client.readFile("/hello")).toString()).toBe("world");
      client.close();
      // And the same S3 key pair.
      const printed = printedS3(second.banner);
      expect(printed.accessKeyId).toBe(printedS3(firstBanner).accessKeyId);
      const s3 = s3Client(printed.address, printed);
      expect((await s3.send(new ListObjectsV2Command({ Bucket: "demo" }))).KeyCount).toBe(1);
      s3.destroy();
    } finally {
      await second.stop();
    }
  });
});
