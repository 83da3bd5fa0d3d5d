import type { Command } from "commander";
import type { CliContext } from "./context.js";
import { formatFsck, formatReport } from "./format.js";

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

  const admin = program.command("admin").description("operate the cluster");

  admin
    .command("report")
    .description("every DataNode and the health of the cluster")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) =>
      ctx.withClient(async (c) => {
        const status = await c.clusterStatus();
        ctx.print(opts.json, status, () => formatReport(status));
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
