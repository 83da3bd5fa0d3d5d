#!/usr/bin/env node
import { Command } from "commander";
import { createLogger, runServerProcess } from "@trainfs/common";
import { DATANODE_ENV_PREFIX, loadDataNodeConfig } from "./config.js";
import { DataNode } from "./datanode.js";

const program = new Command("trainfs-datanode")
  .description(
    "Run a TrainFS DataNode: stores chunks as files and passes them down the replication chain.\n" +
      `Settings come from defaults < --config JSON file < ${DATANODE_ENV_PREFIX}* environment variables < flags.`,
  )
  .option("--config <file>", "JSON config file with the keys below in camelCase (env TRAINFS_DATANODE_CONFIG)")
  .option("--host <host>", "address to listen on (default 127.0.0.1)")
  .option("--port <port>", "port to listen on; 0 picks a free one (default 9866)")
  .option("--data-dir <dir>", "directory for chunk files (default .trainfs/datanode)")
  .option("--namenode <url>", "NameNode address (default http://127.0.0.1:9870)")
  .option("--advertise-address <url>", "address others reach this node at (default http://<host>:<port>)")
  .option("--capacity <size>", "offer at most this much space, e.g. 100GiB (default: the disk's)")
  .option("--heartbeat-interval-ms <ms>", "time between heartbeats (default 3000)")
  .option("--max-replication-streams <n>", "replica copies this node sends at once (default 4)")
  .option("--sync-behind-writes <size>", "a chunk being received starts going to disk every this many bytes; 0 waits for its final fsync (default 8MiB)")
  .option("--scrub-bytes-per-second <size>", "the scrubber reads at most this fast, e.g. 16MiB (default 16MiB)")
  .option("--scrub-period-ms <ms>", "the scrubber verifies every chunk once per period (default 1209600000, 14 days)")
  .option("--part-upload-timeout-ms <ms>", "a browser's chunk upload with no part for this long is abandoned (default 60000)")
  .option("--max-part-uploads <n>", "browser chunk uploads open at once (default 256)")
  .option("--cors-origins <list>", "comma-separated web origins allowed to call this node, besides the NameNode's (default none)")
  .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent (default info)")
  .option("--cluster-secret <secret>", "the NameNode's cluster secret (prefer the environment: ps shows flags)")
  .option("--tls-cert <file>", "PEM certificate chain: serve TLS only and advertise https (with --tls-key)")
  .option("--tls-key <file>", "PEM private key of --tls-cert")
  .option("--tls-ca-file <file>", "PEM certificates to trust for https addresses of the NameNode and other DataNodes")
  .showHelpAfterError();

program.parse();
const { config: configFile, ...flags } = program.opts();

await runServerProcess("trainfs-datanode", async () => {
  const config = loadDataNodeConfig({ file: configFile, env: process.env, flags });
  const datanode = await DataNode.start(config, createLogger("datanode", config.logLevel));
  // Announced on stdout, like "ready", for scripts that wait for a usable node.
  void datanode.link.ready.then(() => process.stdout.write(`trainfs-datanode registered with ${config.namenode}\n`));
  return datanode;
});
