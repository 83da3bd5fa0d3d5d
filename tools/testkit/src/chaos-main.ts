#!/usr/bin/env node
import { Command } from "commander";
import { parseSize } from "@trainfs/common";
import { runChaos } from "./chaos.js";

/** `pnpm test:chaos`: the chaos suite for as long as asked, with a printed seed to replay a failure. */
const opts = new Command("trainfs-chaos")
  .option("--seed <n>", "the schedule's seed (random if unset)")
  .option("--minutes <n>", "how long to run the faults", "10")
  .option("--tls", "every listener on TLS")
  .option("--ha", "NameNode high availability: two NameNodes on a 3-member etcd; failovers (kill -9, SIGSTOP of the active) and etcd member kills among the faults")
  .option("--chunk-size <size>", "chunk size of the files written, e.g. 2MiB (whole 1 MiB parts, recycled buffers, sync behind writes)", "64KiB")
  .parse()
  .opts<{ seed?: string; minutes: string; tls?: boolean; ha?: boolean; chunkSize: string }>();
const chunkSize = parseSize(opts.chunkSize);
const seed = opts.seed !== undefined ? Number(opts.seed) : Math.floor(Math.random() * 2 ** 31);
const replay = `--seed ${seed}${opts.tls ? " --tls" : ""}${opts.ha ? " --ha" : ""}${opts.chunkSize !== "64KiB" ? ` --chunk-size ${opts.chunkSize}` : ""}`;
console.log(`chaos: seed ${seed}, ${opts.minutes} minute(s)${opts.tls ? ", TLS" : ""}${opts.ha ? ", NameNode HA" : ""}, chunks of ${opts.chunkSize} (replay with ${replay})`);
const result = await runChaos({ seed, durationMs: Number(opts.minutes) * 60_000, tls: opts.tls === true, ha: opts.ha === true, chunkSize, log: (l) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${l}`) });
console.log(`puts ${result.stats.puts} (${result.stats.failedPuts} failed under faults), gets ${result.stats.gets}, deletes ${result.stats.deletes}, faults ${result.stats.faults.length}`);
if (result.stats.ha) console.log(`HA: ${result.stats.ha.failovers} failovers seen, ${result.stats.ha.statusRounds} rounds of GetHaStatus of every NameNode`);
if (result.violations.length > 0) {
  console.log(`${result.violations.length} invariant violation(s):`);
  for (const v of result.violations) console.log(`  - ${v}`);
  process.exit(1);
}
console.log("0 invariant violations");
