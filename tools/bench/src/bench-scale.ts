#!/usr/bin/env node
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { Command } from "commander";
import { MetadataStore, Namespace, nameNodeDefaults } from "@trainfs/namenode";
import { TrainfsClient } from "@trainfs/client";
import { formatSize } from "@trainfs/common";
import { median, processUsage } from "./measure.js";

/**
 * `pnpm bench:scale`: the NameNode's metadata at 1M and 10M files, generated
 * through its own store code in process (fast), then served by a real
 * NameNode process: LMDB size, RSS, Stat and List latency, start-up time.
 */
const opts = new Command("trainfs-bench-scale")
  .option("--files <list>", "file counts", "1000000,10000000")
  .option("--dir <dir>", "where the metadata is generated", ".trainfs/bench-scale")
  .option("--reuse", "serve metadata already generated in --dir by an earlier run instead of generating it again")
  .parse()
  .opts<{ files: string; dir: string; reuse?: boolean }>();

const PER_DIR = 1000;
const BATCH = 20_000;
const require = createRequire(import.meta.url);
const nameNodeBin = require.resolve("@trainfs/namenode").replace(/index\.js$/, "main.js");

console.log("files        generate   LMDB size   start→serving   peak RSS    of which heap+anon   stat p50   list 1000 p50   targets (RSS < 1 GiB, start < 10 s)");
for (const count of opts.files.split(",").map(Number)) {
  const dir = resolve(opts.dir, String(count));
  const reused = opts.reuse === true && (await stat(join(dir, "metadata.mdb")).then(() => true, () => false));
  if (!reused) await rm(dir, { recursive: true, force: true });
  const generateS = reused ? undefined : await generate(dir, count);
  const lmdbBytes = await sizeOf(join(dir, "metadata.mdb"));
  const started = Date.now();
  const child = spawn(process.execPath, [nameNodeBin, "--port", "0", "--data-dir", dir, "--log-level", "warn"], { stdio: ["ignore", "pipe", "inherit"] });
  const address = await new Promise<string>((ok) =>
    createInterface({ input: child.stdout! }).on("line", (l) => {
      const m = / ready at (\S+)/.exec(l);
      if (m) ok(m[1]!);
    }),
  );
  const startS = (Date.now() - started) / 1000;
  const client = new TrainfsClient({ namenode: address });
  const stats: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const k = Math.floor(Math.random() * count);
    const t = performance.now();
    await client.stat(`/d${Math.floor(k / PER_DIR)}/f${k % PER_DIR}`);
    stats.push(performance.now() - t);
  }
  const lists: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await client.list(`/d${i}`);
    lists.push(performance.now() - t);
  }
  client.close();
  // Peak RSS over start-up and the requests; LMDB's pages are mapped from
  // the file, so they count in RSS once touched though the kernel can drop
  // them: the anonymous part is the memory the NameNode itself holds.
  const rss = processUsage(child.pid!).peakRssBytes;
  const anon = anonRss(child.pid!);
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  const ok = rss < 1024 ** 3 && startS < 10;
  console.log(
    `${String(count).padEnd(12)} ${(generateS === undefined ? "reused" : `${generateS.toFixed(0)} s`).padEnd(10)} ${formatSize(lmdbBytes).padEnd(11)} ${`${startS.toFixed(2)} s`.padEnd(15)} ${formatSize(rss).padEnd(11)} ${formatSize(anon).padEnd(20)} ${`${median(stats).toFixed(2)} ms`.padEnd(10)} ${`${median(lists).toFixed(1)} ms`.padEnd(15)} ${ok ? "met" : "NOT met"}`,
  );
}

/** Files of one chunk each, 1000 per directory, through the NameNode's own store code. */
async function generate(dir: string, count: number): Promise<number> {
  const start = Date.now();
  const store = await MetadataStore.open(dir);
  const namespace = new Namespace(store);
  for (let base = 0; base < count; base += BATCH) {
    await store.write(() => {
      for (let i = base; i < Math.min(count, base + BATCH); i++) {
        const chunkId = randomBytes(16).toString("hex");
        const inode = namespace.addFile([`d${Math.floor(i / PER_DIR)}`, `f${i % PER_DIR}`], {
          mtimeMs: start, size: 1024, replication: nameNodeDefaults.defaultReplication, chunkSize: nameNodeDefaults.defaultChunkSize, chunkIds: [chunkId],
        });
        store.chunks.put(chunkId, { chunkId, inodeId: inode.id, index: 0, offset: 0, length: 1024, checksum: 1 });
      }
    });
  }
  await store.close();
  return (Date.now() - start) / 1000;
}

function anonRss(pid: number): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

async function sizeOf(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const name of await readdir(path)) total += await sizeOf(join(path, name));
  return total;
}
