#!/usr/bin/env node
import { Command } from "commander";
import { createLogger, runServerProcess } from "@trainfs/common";
import { loadNameNodeConfig, NAMENODE_ENV_PREFIX } from "./config.js";
import { NameNode } from "./namenode.js";

const program = new Command("trainfs-namenode")
  .description(
    "Run a TrainFS NameNode: the namespace and the map of chunks to DataNodes.\n" +
      `Settings come from defaults < --config JSON file < ${NAMENODE_ENV_PREFIX}* environment variables < flags.`,
  )
  .option("--config <file>", "JSON config file with the keys below in camelCase (env TRAINFS_NAMENODE_CONFIG)")
  .option("--host <host>", "address to listen on (default 127.0.0.1)")
  .option("--port <port>", "port to listen on; 0 picks a free one (default 9870)")
  .option("--data-dir <dir>", "directory for the metadata (LMDB) (default .trainfs/namenode)")
  .option("--default-replication <n>", "replicas per chunk when a client does not say (default 3)")
  .option("--max-replication <n>", "highest replication a client may ask for (default 16)")
  .option("--default-chunk-size <size>", "chunk size when a client does not say, e.g. 64MiB (default 64MiB)")
  .option("--min-chunk-size <size>", "smallest chunk size a client may ask for (default 1KiB)")
  .option("--max-chunk-size <size>", "largest chunk size a client may ask for (default 1GiB)")
  .option("--max-chunks-per-file <n>", "most chunks one file may have (default 1000000)")
  .option("--heartbeat-timeout-ms <ms>", "a DataNode silent for longer is dead (default 10000)")
  .option("--upload-lease-ms <ms>", "a write whose writer is silent for longer is abandoned and its chunks trashed (default 600000)")
  .option("--replication-interval-ms <ms>", "how often dead nodes are looked for and copies planned (default 1000)")
  .option("--replication-timeout-ms <ms>", "a copy not finished within this is planned again (default 60000)")
  .option("--max-replication-streams <n>", "copies one DataNode takes part in at once (default 4)")
  .option("--max-replication-tasks-per-heartbeat <n>", "copies handed to a DataNode per heartbeat (default 16)")
  .option("--max-trash-per-heartbeat <n>", "chunk deletions handed to a DataNode per heartbeat (default 1000)")
  .option("--trash-redelivery-ms <ms>", "resend a deletion not confirmed within this (default 60000)")
  .option("--safe-mode-threshold <fraction>", "share of chunks that must be reported before leaving safe mode (default 0.999)")
  .option("--safe-mode-timeout-ms <ms>", "leave safe mode after this even if reports are missing (default 120000)")
  .option("--cors-origins <list>", "comma-separated web origins allowed to call the NameNode (default none: only its own console)")
  .option("--console-dir <dir>", "static files of the web console served at / (default: the built @trainfs/console)")
  .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent (default info)")
  .option("--cluster-secret <secret>", "shared with the DataNodes, 16+ characters (prefer the environment: ps shows flags)")
  .option("--api-tokens <list>", "client tokens, rw:<token> or ro:<token>, comma-separated (prefer the environment or the config file)")
  .option("--chunk-token-ttl-ms <ms>", "how long a chunk access token stays valid (default 3600000)")
  .option("--tls-cert <file>", "PEM certificate chain: serve TLS only (with --tls-key)")
  .option("--tls-key <file>", "PEM private key of --tls-cert")
  .showHelpAfterError();

program.parse();
const { config: configFile, ...flags } = program.opts();

await runServerProcess("trainfs-namenode", async () => {
  const config = loadNameNodeConfig({ file: configFile, env: process.env, flags });
  return NameNode.start(config, createLogger("namenode", config.logLevel));
});
