import { spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { TrainfsClient } from "@trainfs/client";
import { rejection, workDir } from "./helpers.js";

const require = createRequire(import.meta.url);
const localCluster = join(require.resolve("@trainfs/testkit/package.json"), "..", "dist", "local-cluster.js");

/** Runs the README's local cluster on ephemeral ports until it prints its banner; stops it by PID. */
async function startLocalCluster(dataDir: string): Promise<{ banner: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [localCluster, "--data-dir", dataDir, "--namenode-port", "0", "--datanode-port", "0"], {
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

describe("the local cluster of the README", () => {
  it("makes its secret and token on first start, keeps them, and prints how to use them", async () => {
    const dir = await workDir();
    const first = await startLocalCluster(dir);
    let token: string;
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
    } finally {
      await second.stop();
    }
  });
});
