#!/usr/bin/env node
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { Command } from "commander";
import { nameNodeDefaults } from "@trainfs/namenode";
import { dataNodeDefaults } from "@trainfs/datanode";
import { MiniCluster, generateSecurity, type ClusterSecurity } from "./mini-cluster.js";

/**
 * `pnpm cluster`: one NameNode and three DataNodes as separate processes on
 * fixed loopback ports, data kept in .trainfs/local between runs, in the
 * foreground until Ctrl-C.
 */
const program = new Command("trainfs-local-cluster")
  .description("Run a local TrainFS cluster (1 NameNode, N DataNodes) in the foreground; Ctrl-C stops it.")
  .option("--data-dir <dir>", "where the nodes keep their data and logs", ".trainfs/local")
  .option("--namenode-port <port>", "NameNode port", String(nameNodeDefaults.port))
  .option("--datanode-port <port>", "first DataNode port; the others follow", String(dataNodeDefaults.port))
  .option("--datanodes <n>", "number of DataNodes", "3")
  .parse();

const opts = program.opts<{ dataDir: string; namenodePort: string; datanodePort: string; datanodes: string }>();
const baseDir = resolve(opts.dataDir);
const count = Number(opts.datanodes);
await mkdir(baseDir, { recursive: true });
const { security, tokenFile } = await localSecurity(baseDir);

let stopping = false;
let cluster: MiniCluster;
try {
  cluster = await MiniCluster.start({
    mode: "process",
    baseDir,
    dataNodes: count,
    nameNodePort: Number(opts.namenodePort),
    // Port 0 lets the system pick each port (as tests do).
    dataNodePorts: Array.from({ length: count }, (_, i) => (Number(opts.datanodePort) === 0 ? 0 : Number(opts.datanodePort) + i)),
    // The servers' own defaults, not the test kit's fast ones: this is a cluster to use.
    heartbeatIntervalMs: dataNodeDefaults.heartbeatIntervalMs,
    heartbeatTimeoutMs: nameNodeDefaults.heartbeatTimeoutMs,
    nameNode: { monitorIntervalMs: nameNodeDefaults.monitorIntervalMs },
    logLevel: "info",
    security,
    // Ctrl-C reaches the children too, and they exit on their own: only a
    // death while the cluster runs is news.
    onUnexpectedExit: (name, status) =>
      stopping ||
      console.error(`trainfs-local-cluster: ${name} exited unexpectedly (${status}); see its log in ${baseDir}`),
  });
} catch (err) {
  console.error(`trainfs-local-cluster: could not start: ${(err as Error).message}`);
  process.exit(1);
}

const nn = cluster.nameNodeAddress;
console.log(`TrainFS local cluster is up (data and logs in ${baseDir})
  Console    ${nn}/   (open it in a browser: cluster, charts, files, upload and download)
  NameNode   ${nn}   (audit log: ${shortPath(join(baseDir, "namenode", "audit.log"))})
${Array.from({ length: count }, (_, i) => `  DataNode ${i + 1} ${cluster.dataNodeAddress(i)}`).join("\n")}

Security is on: the cluster secret and an API token were made on first start
and are kept in ${join(baseDir, "security.json")} (mode 600).
  API token  ${security.clientToken ?? ""}   (paste it into the console's token field)

Try it from another terminal in this repository:
  export TRAINFS_NAMENODE=${nn}
  export TRAINFS_TOKEN_FILE=${shortPath(tokenFile)}
  head -c 200M /dev/urandom > /tmp/sample.bin
  pnpm exec trainfs put /tmp/sample.bin /demo/sample.bin
  pnpm exec trainfs ls /demo
  pnpm exec trainfs get /demo/sample.bin /tmp/sample.copy && cmp /tmp/sample.bin /tmp/sample.copy
  curl -s ${nn}/metrics | grep trainfs_rpc_requests_total

Press Ctrl-C to stop.`);

const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the cluster...`);
  await cluster.shutdown();
  console.log("stopped.");
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

/**
 * The local cluster's secret and read-write API token: generated on first
 * start, then read back, so clients configured once keep working.
 */
async function localSecurity(dir: string): Promise<{ security: ClusterSecurity; tokenFile: string }> {
  const file = join(dir, "security.json");
  const tokenFile = join(dir, "token");
  let security: ClusterSecurity & { clientToken: string };
  try {
    security = JSON.parse(await readFile(file, "utf8")) as ClusterSecurity & { clientToken: string };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    security = generateSecurity();
    await writeFile(file, `${JSON.stringify(security, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  }
  await writeFile(tokenFile, `${security.clientToken}\n`, { mode: 0o600 });
  return { security, tokenFile };
}

/** A path relative to here when it lies below here, else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}
