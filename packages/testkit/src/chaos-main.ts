#!/usr/bin/env node
import { Command } from "commander";
import { runChaos } from "./chaos.js";

/** `pnpm test:chaos`: the chaos suite for as long as asked, with a printed seed to replay a failure. */
const opts = new Command("trainfs-chaos")
  .option("--seed <n>", "the schedule's seed (random if unset)")
  .option("--minutes <n>", "how long to run the faults", "10")
  .option("--tls", "every listener on TLS")
  .parse()
  .opts<{ seed?: string; minutes: string; tls?: boolean }>();
const seed = opts.seed !== undefined ? Number(opts.seed) : Math.floor(Math.random() * 2 ** 31);
console.log(`chaos: seed ${seed}, ${opts.minutes} minute(s)${opts.tls ? ", TLS" : ""} (replay with --seed ${seed}${opts.tls ? " --tls" : ""})`);
const result = await runChaos({ seed, durationMs: Number(opts.minutes) * 60_000, tls: opts.tls === true, log: (l) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${l}`) });
console.log(`puts ${result.stats.puts} (${result.stats.failedPuts} failed under faults), gets ${result.stats.gets}, deletes ${result.stats.deletes}, faults ${result.stats.faults.length}`);
if (result.violations.length > 0) {
  console.log(`${result.violations.length} invariant violation(s):`);
  for (const v of result.violations) console.log(`  - ${v}`);
  process.exit(1);
}
console.log("0 invariant violations");
