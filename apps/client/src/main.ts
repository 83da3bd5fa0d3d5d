#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { TrainfsClient, TrainfsError } from "@trainfs/client";
import { errorMessage, formatSize, parseSize } from "@trainfs/common";
import { formatFsck, formatListing, formatReport } from "./format.js";
import { progressBar } from "./progress.js";

const DEFAULT_NAMENODE = "http://127.0.0.1:9870";

const program = new Command("trainfs")
  .description("TrainFS command-line client: put, get, list and delete files, and operate the cluster.")
  .option("--namenode <url>", `NameNode address (env TRAINFS_NAMENODE, default ${DEFAULT_NAMENODE})`)
  .showHelpAfterError();

function client(): TrainfsClient {
  const namenode = program.opts().namenode ?? process.env.TRAINFS_NAMENODE ?? DEFAULT_NAMENODE;
  return new TrainfsClient({ namenode });
}

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
};
const size = (v: string) => {
  try {
    return parseSize(v);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
};

program
  .command("put")
  .description("upload a local file; it becomes visible only once every chunk is stored on all replicas")
  .argument("<local>", "local file")
  .argument("<remote>", "absolute TrainFS path; missing parent directories are created")
  .option("-r, --replication <n>", "replicas per chunk (default: the NameNode's, 3)", positiveInt)
  .option("-c, --chunk-size <size>", "chunk size, e.g. 64MiB (default: the NameNode's, 64 MiB)", size)
  .action(async (local: string, remote: string, opts: { replication?: number; chunkSize?: number }) => {
    const c = client();
    const bar = progressBar("put");
    try {
      const file = await c.put(local, remote, { ...opts, onProgress: bar.update });
      bar.stop();
      console.log(`${file.path}: ${formatSize(file.size)} in ${file.chunkCount} chunk(s), replication ${file.replication}`);
    } finally {
      bar.stop();
      c.close();
    }
  });

program
  .command("get")
  .description("download a file; the local file appears only once every chunk verified")
  .argument("<remote>", "absolute TrainFS path")
  .argument("<local>", "local file or existing directory")
  .option("-f, --force", "replace an existing local file")
  .action(async (remote: string, local: string, opts: { force?: boolean }) => {
    const c = client();
    const bar = progressBar("get");
    try {
      const file = await c.get(remote, local, { overwrite: opts.force ?? false, onProgress: bar.update });
      bar.stop();
      console.log(`${file.path}: ${formatSize(file.size)} written to ${local}`);
    } finally {
      bar.stop();
      c.close();
    }
  });

program
  .command("ls")
  .description("list a directory (sorted by name) or describe a file")
  .argument("[remote]", "absolute TrainFS path", "/")
  .option("--json", "print JSON")
  .action(async (remote: string, opts: { json?: boolean }) => {
    const c = client();
    try {
      const entries = await c.list(remote);
      if (opts.json) console.log(JSON.stringify(entries, null, 2));
      else if (entries.length > 0) console.log(formatListing(entries));
    } finally {
      c.close();
    }
  });

program
  .command("rm")
  .description("delete a file or an empty directory; its chunks leave the DataNodes shortly after")
  .argument("<remote>", "absolute TrainFS path")
  .action(async (remote: string) => {
    const c = client();
    try {
      const { chunkCount } = await c.rm(remote);
      console.log(`deleted ${remote} (${chunkCount} chunk(s) sent to trash)`);
    } finally {
      c.close();
    }
  });

program
  .command("fsck")
  .description("check files: each chunk's good and bad replicas; exits 1 if anything is missing or corrupt")
  .argument("[remote]", "a file or directory (checked recursively)", "/")
  .option("--json", "print JSON")
  .action(async (remote: string, opts: { json?: boolean }) => {
    const c = client();
    try {
      const report = await c.fsck(remote);
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatFsck(report));
      if (!report.healthy) process.exitCode = 1;
    } finally {
      c.close();
    }
  });

const admin = program.command("admin").description("operate the cluster");

admin
  .command("report")
  .description("every DataNode and the health of the cluster")
  .option("--json", "print JSON")
  .action(async (opts: { json?: boolean }) => {
    const c = client();
    try {
      const status = await c.clusterStatus();
      console.log(opts.json ? JSON.stringify(status, null, 2) : formatReport(status));
    } finally {
      c.close();
    }
  });

for (const [verb, description] of [
  ["decommission", "drain a DataNode: no new chunks, and all of its chunks copied elsewhere"],
  ["recommission", "return a draining or drained DataNode to service"],
] as const) {
  admin
    .command(verb)
    .description(description)
    .argument("<node>", "the DataNode's id or address (as in `admin report`)")
    .action(async (node: string) => {
      const c = client();
      try {
        const status = verb === "decommission" ? await c.decommission(node) : await c.recommission(node);
        console.log(`${status.address} (${status.id}): ${status.adminState}`);
      } finally {
        c.close();
      }
    });
}

try {
  await program.parseAsync();
} catch (err) {
  const code = err instanceof TrainfsError ? ` [${err.code}]` : "";
  process.stderr.write(`trainfs: ${errorMessage(err)}${code}\n`);
  process.exitCode = 1;
}
