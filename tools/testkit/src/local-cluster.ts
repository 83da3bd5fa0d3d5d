#!/usr/bin/env node
import { existsSync } from "node:fs";
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
 * between runs, in the foreground until Ctrl-C. With `--ha` (`pnpm
 * cluster:ha`): a 3-member etcd and two NameNodes (one active, one standby),
 * data in .trainfs/local-ha, and it reports every change of active NameNode.
 */
const program = new Command("trainfs-local-cluster")
  .description("Run a local TrainFS cluster (1 NameNode, N DataNodes, an S3 gateway) in the foreground; Ctrl-C stops it.")
  .option("--data-dir <dir>", "where the nodes keep their data and logs", ".trainfs/local")
  .option("--namenode-port <port>", "NameNode port", String(nameNodeDefaults.port))
  .option("--datanode-port <port>", "first DataNode port; the others follow", String(dataNodeDefaults.port))
  .option("--datanodes <n>", "number of DataNodes", "3")
  .option("--s3-port <port>", "S3 gateway port", String(s3GatewayDefaults.port))
  .option("--ha", "NameNode high availability: a 3-member etcd (Debian's etcd-server) and two NameNodes; data in .trainfs/local-ha unless --data-dir")
  .option("--namenodes <n>", "with --ha: number of NameNodes, on the NameNode port and the ones after it", "2")
  .option("--etcd-port <port>", "with --ha: first etcd member's client port (its peer port is the next one; the other members follow, two apart)", "2379")
  .parse();

const opts = program.opts<{
  dataDir: string; namenodePort: string; datanodePort: string; datanodes: string; s3Port: string;
  ha?: boolean; namenodes: string; etcdPort: string;
}>();
const ha = opts.ha === true;
// An HA cluster has its own data: its NameNodes' metadata and the DataNodes' cluster id are not the single NameNode's.
const baseDir = resolve(ha && program.getOptionValueSource("dataDir") === "default" ? ".trainfs/local-ha" : opts.dataDir);
const count = Number(opts.datanodes);
const nameNodeCount = ha ? Number(opts.namenodes) : 1;
if (ha && !MiniCluster.haAvailable) {
  console.error(
    "trainfs-local-cluster: --ha needs NameNode high availability, which this build's NameNode does not have " +
      "(its AdminService has no GetHaStatus, and trainfs-namenode no --ha-etcd). Build a version with it (bash scripts/bootstrap.sh).",
  );
  process.exit(1);
}
if (ha && (!Number.isInteger(nameNodeCount) || nameNodeCount < 2)) {
  console.error(`trainfs-local-cluster: --namenodes must be 2 or more with --ha, not ${opts.namenodes}`);
  process.exit(1);
}
if (ha && existsSync(join(baseDir, "etcd")) && !existsSync(join(baseDir, "etcd-tls"))) {
  // Its members were made with cleartext peer URLs, which etcd keeps in its data: they cannot rejoin over TLS.
  console.error(
    `trainfs-local-cluster: the etcd in ${baseDir} was made by a version without etcd TLS, and cannot be reused over TLS; ` +
      `remove ${baseDir} (the HA cluster's data, files included) to start afresh`,
  );
  process.exit(1);
}
/** Port `base + step * i`, or 0 (a free one) when base is 0. */
const portsFrom = (base: string, n: number, step = 1, offset = 0) =>
  Array.from({ length: n }, (_, i) => (Number(base) === 0 ? 0 : Number(base) + step * i + offset));
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
    ...(ha
      ? {
          ha: {
            nameNodes: nameNodeCount,
            etcdMembers: 3 as const,
            // Only holders of a certificate from the cluster's own CA reach etcd (the NameNodes, and etcdctl as the banner shows).
            etcdTls: true,
            // 0 is "pick one" for the kit's HA options too (free ports are chosen when none is given).
            ...(Number(opts.namenodePort) === 0 ? {} : { nameNodePorts: portsFrom(opts.namenodePort, nameNodeCount) }),
            ...(Number(opts.etcdPort) === 0
              ? {}
              : { etcdClientPorts: portsFrom(opts.etcdPort, 3, 2), etcdPeerPorts: portsFrom(opts.etcdPort, 3, 2, 1) }),
          },
        }
      : {}),
    // Ctrl-C reaches the children too, and they exit on their own: only a
    // death while the cluster runs is news.
    onUnexpectedExit: (name, status) =>
      stopping ||
      console.error(
        ha && name.startsWith("NameNode")
          ? `trainfs-local-cluster: ${name} exited (${status}); the other NameNodes carry on (its log: ${baseDir})`
          : `trainfs-local-cluster: ${name} exited unexpectedly (${status}); see its log in ${baseDir}`,
      ),
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
if (ha) await printHaBanner();
else printBanner();

/** The single-NameNode cluster's banner (the README's). */
function printBanner(): void {
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
}

/** The HA cluster's banner: who is active, and how to kill it and watch the other take over. */
async function printHaBanner(): Promise<void> {
  const etcd = cluster.etcd;
  const active = await cluster.waitForActiveNameNode();
  const roleOf = (i: number) => (i === active ? "active" : "standby");
  const other = active === 0 ? 1 : 0;
  console.log(`TrainFS local HA cluster is up (data and logs in ${baseDir})
${etcd.clientUrls.map((url, i) => `  etcd ${i + 1}     ${url}   pid ${etcd.pid(i) ?? "-"}`).join("\n")}
${cluster.nameNodeAddresses.map((url, i) => `  NameNode ${i + 1} ${url}   pid ${cluster.nameNodePidOf(i)}   ${roleOf(i)}`).join("\n")}
${Array.from({ length: count }, (_, i) => `  DataNode ${i + 1} ${cluster.dataNodeAddress(i)}`).join("\n")}
  S3 gateway ${s3Address}   (it follows the active NameNode too)
  Console    ${cluster.nameNodeAddresses[active]}/   (the active NameNode's)

Security is on: the cluster secret (shared by both NameNodes), an API token and an
S3 key pair are kept in ${join(baseDir, "security.json")} (mode 600).
  API token  ${security.clientToken ?? ""}

etcd serves TLS only and lets in only certificates from the cluster's CA, in
${shortPath(join(baseDir, "etcd-tls"))} (a new one at each start). To look at the keys:
  etcdctl --endpoints ${etcd.endpoints} --cacert ${shortPath(join(baseDir, "etcd-tls", "ca.pem"))} \\
    --cert ${shortPath(join(baseDir, "etcd-tls", "client-root.pem"))} --key ${shortPath(join(baseDir, "etcd-tls", "client-root-key.pem"))} get --prefix /trainfs/ --keys-only

Kill the active NameNode and watch the other take over, from another terminal in this repository:
  export TRAINFS_NAMENODE=${nn}
  export TRAINFS_TOKEN_FILE=${shortPath(tokenFile)}
  head -c 200M /dev/urandom > /tmp/sample.bin
  pnpm exec trainfs put /tmp/sample.bin /demo/sample.bin
  pnpm exec trainfs admin report                  # each NameNode's role: NameNode ${active + 1} is active
  kill -9 ${cluster.nameNodePidOf(active)}                                 # NameNode ${active + 1}, the active one
  pnpm exec trainfs admin report                  # within the lease TTL + a few seconds, NameNode ${other + 1} is active
  pnpm exec trainfs get /demo/sample.bin /tmp/sample.copy && cmp /tmp/sample.bin /tmp/sample.copy
This terminal prints each change of active NameNode as it happens. A killed
NameNode stays down until the cluster is restarted (Ctrl-C, then the same
command): it comes back as a standby and catches up from etcd.

Press Ctrl-C to stop.`);
  let last: number | undefined = active;
  const watch = setInterval(() => {
    cluster
      .activeNameNode(1000)
      .then((now) => {
        if (stopping || now === last) return;
        last = now;
        console.log(
          now === undefined
            ? `${new Date().toISOString()} no NameNode is active (an election is under way)`
            : `${new Date().toISOString()} NameNode ${now + 1} (${cluster.nameNodeAddresses[now]}, pid ${cluster.nameNodePidOf(now)}) is now active`,
        );
      })
      // A NameNode dying between the question and the answer: the next round tells.
      .catch(() => {});
  }, 500);
  watch.unref();
}

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
