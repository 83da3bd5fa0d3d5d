#!/usr/bin/env node
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { Command } from "commander";
import { nameNodeDefaults } from "@trainfs/namenode";
import { dataNodeDefaults } from "@trainfs/datanode";
import { s3GatewayDefaults } from "@trainfs/s3-gateway";
import { MiniCluster, generateSecurity, type ClusterSecurity } from "./mini-cluster.js";
import { startNodeProcess, type NodeProcess } from "./node-process.js";
import { generateS3Credential } from "./s3-gateway.js";

/**
 * `pnpm cluster`: one NameNode, three DataNodes and an S3 gateway as
 * separate processes on fixed loopback ports, data kept in .trainfs/local
 * between runs, in the foreground until Ctrl-C.
 */
const program = new Command("trainfs-local-cluster")
  .description("Run a local TrainFS cluster (1 NameNode, N DataNodes, an S3 gateway) in the foreground; Ctrl-C stops it.")
  .option("--data-dir <dir>", "where the nodes keep their data and logs", ".trainfs/local")
  .option("--namenode-port <port>", "NameNode port", String(nameNodeDefaults.port))
  .option("--datanode-port <port>", "first DataNode port; the others follow", String(dataNodeDefaults.port))
  .option("--datanodes <n>", "number of DataNodes", "3")
  .option("--s3-port <port>", "S3 gateway port", String(s3GatewayDefaults.port))
  .parse();

const opts = program.opts<{ dataDir: string; namenodePort: string; datanodePort: string; datanodes: string; s3Port: string }>();
const baseDir = resolve(opts.dataDir);
const count = Number(opts.datanodes);
await mkdir(baseDir, { recursive: true });
const { security, tokenFile, s3 } = await localSecurity(baseDir);

let stopping = false;
let cluster: MiniCluster;
let gateway: NodeProcess;
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
try {
  // The key pair goes by environment and the token by file: `ps` shows flags.
  gateway = await startNodeProcess("@trainfs/s3-gateway", ["--host", "127.0.0.1", "--port", opts.s3Port, "--namenode", cluster.nameNodeAddress, "--log-level", "info"], {
    logFile: join(baseDir, "s3-gateway.log"),
    env: { TRAINFS_S3_CREDENTIALS: `${s3.accessKeyId}:${s3.secretAccessKey}:rw`, TRAINFS_S3_TOKEN_FILE: tokenFile },
  });
  void gateway.exited.then((status) => stopping || console.error(`trainfs-local-cluster: the S3 gateway exited unexpectedly (${status}); see ${join(baseDir, "s3-gateway.log")}`));
} catch (err) {
  console.error(`trainfs-local-cluster: could not start the S3 gateway: ${(err as Error).message}`);
  stopping = true;
  await cluster.shutdown();
  process.exit(1);
}

const nn = cluster.nameNodeAddress;
const s3Address = gateway.address;
console.log(`TrainFS local cluster is up (data and logs in ${baseDir})
  Console    ${nn}/   (open it in a browser: cluster, charts, files, upload and download)
  NameNode   ${nn}   (audit log: ${shortPath(join(baseDir, "namenode", "audit.log"))})
${Array.from({ length: count }, (_, i) => `  DataNode ${i + 1} ${cluster.dataNodeAddress(i)}`).join("\n")}
  S3 gateway ${s3Address}   (aws, rclone, s3cmd, boto3, curl: docs/s3.md)

Security is on: the cluster secret, an API token and an S3 key pair were made
on first start and are kept in ${join(baseDir, "security.json")} (mode 600).
  API token  ${security.clientToken ?? ""}   (paste it into the console's token field)
  S3 key     ${s3.accessKeyId}   secret ${s3.secretAccessKey}

Try it from another terminal in this repository:
  export TRAINFS_NAMENODE=${nn}
  export TRAINFS_TOKEN_FILE=${shortPath(tokenFile)}
  head -c 200M /dev/urandom > /tmp/sample.bin
  pnpm exec trainfs put /tmp/sample.bin /demo/sample.bin
  pnpm exec trainfs ls /demo
  pnpm exec trainfs get /demo/sample.bin /tmp/sample.copy && cmp /tmp/sample.bin /tmp/sample.copy
  curl -s ${nn}/metrics | grep trainfs_rpc_requests_total
  AWS_ACCESS_KEY_ID=${s3.accessKeyId} AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey} AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url ${s3Address} s3 ls

Press Ctrl-C to stop.`);

const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the cluster...`);
  await gateway.stop();
  await cluster.shutdown();
  console.log("stopped.");
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

interface LocalSecrets extends ClusterSecurity {
  clientToken: string;
  /** The S3 gateway's read-write key pair (absent from a file made before the gateway: added). */
  s3?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * The local cluster's secret, read-write API token and S3 key pair:
 * generated on first start, then read back, so clients configured once keep
 * working.
 */
async function localSecurity(dir: string): Promise<{ security: ClusterSecurity; tokenFile: string; s3: { accessKeyId: string; secretAccessKey: string } }> {
  const file = join(dir, "security.json");
  const tokenFile = join(dir, "token");
  let secrets: LocalSecrets;
  try {
    secrets = JSON.parse(await readFile(file, "utf8")) as LocalSecrets;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    secrets = generateSecurity();
  }
  let s3 = secrets.s3;
  if (!s3) {
    const { accessKeyId, secretAccessKey } = generateS3Credential();
    s3 = { accessKeyId, secretAccessKey };
    await writeFile(file, `${JSON.stringify({ ...secrets, s3 }, null, 2)}\n`, { mode: 0o600 });
  }
  await writeFile(tokenFile, `${secrets.clientToken}\n`, { mode: 0o600 });
  const { s3: _, ...security } = secrets;
  return { security, tokenFile, s3 };
}

/** A path relative to here when it lies below here, else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}
