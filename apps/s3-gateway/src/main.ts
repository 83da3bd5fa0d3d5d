#!/usr/bin/env node
import { Command, Option } from "commander";
import { createLogger, runServerProcess, settingOptions } from "@trainfs/common";
import { loadS3GatewayConfig, S3_ENV_PREFIX, s3GatewayConfigSchema } from "./config.js";
import { S3Gateway } from "./s3-gateway.js";

const program = new Command("trainfs-s3")
  .description(
    "Run a TrainFS S3 gateway: S3's API (path-style, Signature Version 4) over a TrainFS cluster.\n" +
      `Settings come from defaults < --config JSON file < ${S3_ENV_PREFIX}* environment variables < flags;\n` +
      `each flag's variable is ${S3_ENV_PREFIX} and its name in upper snake case (--token-file: ${S3_ENV_PREFIX}TOKEN_FILE).`,
  )
  .option("--config <file>", `JSON config file with the keys below in camelCase (env ${S3_ENV_PREFIX}CONFIG)`)
  .showHelpAfterError();
// One option per setting of the schema, help and default included (docs/operations.md has the same table).
for (const o of settingOptions(s3GatewayConfigSchema, S3_ENV_PREFIX)) program.addOption(new Option(o.flags, o.description).hideHelp(o.hidden));

program.parse();
const { config: configFile, ...flags } = program.opts();

await runServerProcess("trainfs-s3", async () => {
  const config = loadS3GatewayConfig({ file: configFile, env: process.env, flags });
  return S3Gateway.start(config, createLogger("s3-gateway", config.logLevel));
});
