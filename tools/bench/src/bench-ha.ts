#!/usr/bin/env node
import { mkdir, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { Command } from "commander";
import { parseSize } from "@trainfs/common";
import { nameNodeDefaults } from "@trainfs/namenode";
import { haFigures, haUnavailable } from "./ha.js";
import { dropPageCache } from "./measure.js";
import { printRows } from "./report.js";

/**
 * `pnpm bench:ha`: the HA section of `pnpm bench --ha` alone (each HA figure
 * beside a single NameNode measured alternately with it), for judging a
 * change to HA without the rest of the bench's half hour.
 */
const opts = new Command("trainfs-bench-ha")
  .option("--reps <n>", "repetitions of each figure (alternated with the single NameNode's)", "3")
  .option("--size <size>", "file size of the put and get figures", "256MiB")
  .option("--ha-files <n>", "files created and deleted before etcd's size is read", "100000")
  .option("--heartbeat-timeout-ms <ms>", "the NameNodes' heartbeat timeout", String(nameNodeDefaults.heartbeatTimeoutMs))
  .option("--dir <dir>", "where the clusters write (the real disk)", ".trainfs/bench-ha")
  .parse()
  .opts<{ reps: string; size: string; haFiles: string; heartbeatTimeoutMs: string; dir: string }>();

const why = await haUnavailable();
if (why) {
  console.error(`trainfs-bench-ha: cannot run: ${why}`);
  process.exit(1);
}
const dir = resolve(opts.dir);
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const { rows } = await haFigures({
  dir,
  reps: Number(opts.reps),
  size: parseSize(opts.size),
  churnFiles: Number(opts.haFiles),
  heartbeatTimeoutMs: Number(opts.heartbeatTimeoutMs),
  log: (s) => process.stderr.write(`${s}\n`),
  dropPageCache,
});
printRows(rows);
console.log((await dropPageCache()) ? "\nthe page cache was dropped before each put and get" : "\nthe page cache could not be dropped (not root): puts and gets ran on a warm cache");
await rm(dir, { recursive: true, force: true });
