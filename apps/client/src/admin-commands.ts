import { createRequire } from "node:module";
import type { Command } from "commander";
import { TrainfsError, parseSize } from "@trainfs/core";
import type { CliContext } from "./context.js";
import { diskUsage, formatBalancer, formatDiskUsage, formatFsck, formatHaStatus, formatReport } from "./format.js";

/** fsck and the admin verbs, for operators. */
export function adminCommands(program: Command, ctx: CliContext): void {
  program
    .command("fsck")
    .description("check files: each chunk's good and bad replicas; exits 1 if anything is missing or corrupt")
    .argument("[remote]", "a file or directory (checked recursively)", "/")
    .option("--json", "print JSON")
    .action(async (remote: string, opts: { json?: boolean }) =>
      ctx.withClient(async (c) => {
        const report = await c.fsck(remote);
        ctx.print(opts.json, report, () => formatFsck(report));
        if (!report.healthy) process.exitCode = 1;
      }),
    );

  program
    .command("df")
    .description("the cluster's capacity: size, used by TrainFS, used by other files on the DataNodes' disks (non-DFS), available, as hdfs dfs -df")
    .argument("[remote]", "accepted for habit: the answer is the whole cluster's")
    .option("-h, --human", "sizes in KiB, MiB, GiB")
    .option("--json", "print JSON")
    .action(async (_remote: string | undefined, opts: { human?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const u = diskUsage(await c.clusterStatus());
        ctx.print(opts.json, u, () => formatDiskUsage(u, ctx.namenode().url, opts.human ?? false));
      }),
    );

  program
    .command("version")
    .description("this client's version and the NameNode's")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const client = clientVersion();
      let server: string | null = null;
      let failure: unknown;
      await ctx.withClient(async (c) => (server = (await c.clusterStatus()).version || "unknown (older than 0.1)")).catch((err: unknown) => (failure = err));
      ctx.print(opts.json, { client, server, namenode: ctx.namenode().url }, () =>
        `trainfs ${client}\nNameNode ${ctx.namenode().url}: ${server ?? "not reachable"}`,
      );
      if (failure) ctx.fail(failure);
    });

  const admin = program.command("admin").description("operate the cluster");

  admin
    .command("report")
    .description("every DataNode and the health of the cluster")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) =>
      ctx.withClient(async (c) => {
        const status = await c.clusterStatus();
        const ha = await c.haStatus();
        ctx.print(opts.json, { ...status, ha }, () => [formatHaStatus(ha), formatReport(status)].filter(Boolean).join("\n"));
      }),
    );

  admin
    .command("failover")
    .description("hand the active NameNode's leadership to a standby (high availability); answers once another NameNode is active")
    .option("--to <address>", "the standby that should take over, as `admin report` lists it (default: any)")
    .option("--json", "print JSON")
    .action(async (opts: { to?: string; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const r = await c.failover(opts.to);
        ctx.print(opts.json, r, () => `the active NameNode is now ${r.activeAddress} (epoch ${r.epoch})`);
      }),
    );

  admin
    .command("balance")
    .description("move replicas from the fullest DataNodes to the emptiest until every node's used share is within the threshold of the mean")
    .option("--threshold <percent>", "allowed distance of each node's used share from the cluster's mean, in percentage points (default: the NameNode's balancerThresholdPercent, 10)")
    .option("--bandwidth <size>", "bytes per second the moves may use together, e.g. 32MiB (default: the NameNode's balancerBandwidthBytesPerSecond)")
    .option("--max-moves <n>", "copies in flight at most (default: the NameNode's balancerMaxMoves)")
    .option("--stop", "stop the balancer (copies under way finish)")
    .option("--json", "print JSON")
    .action(async (opts: { threshold?: string; bandwidth?: string; maxMoves?: string; stop?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const status = opts.stop
          ? await c.stopBalancer()
          : await c.startBalancer({
              thresholdPercent: optionalNumber(opts.threshold, "--threshold"),
              bandwidthBytesPerSecond: opts.bandwidth === undefined ? undefined : parseSize(opts.bandwidth),
              maxMovesInFlight: optionalNumber(opts.maxMoves, "--max-moves"),
            });
        ctx.print(opts.json, status, () => formatBalancer(status));
      }),
    );

  admin
    .command("safemode")
    .description("enter or leave safe mode by hand, or show it: entered by an operator, the namespace is read-only and no replication or trash is scheduled until one leaves it")
    .argument("<action>", "enter, leave or get")
    .option("--json", "print JSON")
    .action(async (action: string, opts: { json?: boolean }) =>
      ctx.withClient(async (c) => {
        if (!["enter", "leave", "get"].includes(action)) throw new TrainfsError("invalid_argument", `safemode takes enter, leave or get, not ${JSON.stringify(action)}`);
        const s = action === "get" ? (await c.clusterStatus()).safeMode : await c.setSafeMode(action === "enter");
        ctx.print(opts.json, s, () => (s.on ? `safe mode is ON${s.manual ? " (entered by an operator: the namespace is read-only)" : ` (startup: ${s.reportedChunks} of ${s.totalChunks} chunks reported)`}` : "safe mode is OFF"));
      }),
    );

  for (const [verb, description] of [
    ["decommission", "drain a DataNode: no new chunks, and all of its chunks copied elsewhere"],
    ["recommission", "return a draining or drained DataNode to service"],
  ] as const) {
    admin
      .command(verb)
      .description(description)
      .argument("<node>", "the DataNode's id or address (as in `admin report`)")
      .option("--json", "print JSON")
      .action(async (node: string, opts: { json?: boolean }) =>
        ctx.withClient(async (c) => {
          const status = verb === "decommission" ? await c.decommission(node) : await c.recommission(node);
          ctx.print(opts.json, status, () => `${status.address} (${status.id}): ${status.adminState}`);
        }),
      );
  }
}

/** This CLI's version, from its package.json (dist/ and src/ sit beside it). */
export function clientVersion(): string {
  return (createRequire(import.meta.url)("../package.json") as { version: string }).version;
}

function optionalNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new TrainfsError("invalid_argument", `${flag} takes a positive number, not ${JSON.stringify(value)}`);
  return n;
}
