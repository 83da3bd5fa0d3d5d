#!/usr/bin/env node
// `pnpm docs:settings`: rewrites the settings tables of docs/operations.md from
// the NameNode's, DataNode's and S3 gateway's config schemas (between the
// `<!-- generated:… -->` markers); `--check` only says whether they differ
// (exit 1), as tools/deploy-check's test does. Needs a build.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { replaceGenerated, settingsTable } from "../packages/common/dist/index.js";
import { NAMENODE_ENV_PREFIX, nameNodeConfigSchema } from "../apps/namenode/dist/index.js";
import { DATANODE_ENV_PREFIX, dataNodeConfigSchema } from "../apps/datanode/dist/index.js";
import { S3_ENV_PREFIX, s3GatewayConfigSchema } from "../apps/s3-gateway/dist/index.js";

const path = fileURLToPath(new URL("../docs/operations.md", import.meta.url));
const before = readFileSync(path, "utf8");
let after = before;
after = replaceGenerated(after, "namenode-settings", settingsTable(nameNodeConfigSchema, NAMENODE_ENV_PREFIX));
after = replaceGenerated(after, "datanode-settings", settingsTable(dataNodeConfigSchema, DATANODE_ENV_PREFIX));
after = replaceGenerated(after, "s3-gateway-settings", settingsTable(s3GatewayConfigSchema, S3_ENV_PREFIX));

if (process.argv.includes("--check")) {
  if (after !== before) {
    console.error("docs/operations.md: the settings tables differ from the config schemas; run `pnpm docs:settings`");
    process.exit(1);
  }
} else if (after !== before) {
  writeFileSync(path, after);
  console.log("docs/operations.md: settings tables rewritten");
} else {
  console.log("docs/operations.md: settings tables up to date");
}
