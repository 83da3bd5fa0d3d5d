#!/usr/bin/env node
import { Command, Option } from "commander";
import { createLogger, runServerProcess, settingOptions } from "@trainfs/common";
import { DATANODE_ENV_PREFIX, dataNodeConfigSchema, loadDataNodeConfig } from "./config.js";
import { DataNode } from "./datanode.js";

const program = new Command("trainfs-datanode")
  .description(
    "Run a TrainFS DataNode: stores chunks as files and passes them down the replication chain.\n" +
      `Settings come from defaults < --config JSON file < ${DATANODE_ENV_PREFIX}* environment variables < flags;\n` +
      `each flag's variable is ${DATANODE_ENV_PREFIX} and its name in upper snake case (--data-dir: ${DATANODE_ENV_PREFIX}DATA_DIR).`,
  )
  .option("--config <file>", `JSON config file with the keys below in camelCase (env ${DATANODE_ENV_PREFIX}CONFIG)`)
  .showHelpAfterError();
// One option per setting of the schema, help and default included (docs/operations.md has the same table).
for (const o of settingOptions(dataNodeConfigSchema, DATANODE_ENV_PREFIX)) program.addOption(new Option(o.flags, o.description).hideHelp(o.hidden));

program.parse();
const { config: configFile, ...flags } = program.opts();

await runServerProcess("trainfs-datanode", async () => {
  const config = loadDataNodeConfig({ file: configFile, env: process.env, flags });
  const datanode = await DataNode.start(config, createLogger("datanode", config.logLevel));
  // Announced on stdout, like "ready", for scripts that wait for a usable node.
  void datanode.link.ready.then(() => process.stdout.write(`trainfs-datanode registered with ${config.namenode.join(",")}\n`));
  return datanode;
});
