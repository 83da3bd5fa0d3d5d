import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createLogger, flagName } from "@trainfs/common";
import { S3Gateway, s3GatewayConfigSchema, type S3Credential, type S3GatewayConfig } from "@trainfs/s3-gateway";
import type { MiniCluster } from "./mini-cluster.js";
import { startNodeProcess, type NodeProcess } from "./node-process.js";

/** A random S3 key pair. */
export function generateS3Credential(access: S3Credential["access"] = "read-write"): S3Credential {
  return { accessKeyId: `TFS${randomBytes(8).toString("hex").toUpperCase()}`, secretAccessKey: randomBytes(24).toString("base64url"), access };
}

export interface S3GatewayOptions {
  /** In this process (inspectable) or a child process (its RSS measurable, killable). */
  mode?: "in-process" | "process";
  /** Key pairs it accepts; one random read-write pair by default. */
  credentials?: S3Credential[];
  /** Other settings (chunkSize, multipartExpiryMs, ...). */
  config?: Partial<Omit<S3GatewayConfig, "host" | "port" | "namenode" | "credentials">>;
}

/** A running gateway, its address and the key pairs it accepts. */
export interface S3GatewayHandle {
  readonly address: string;
  readonly credentials: S3Credential[];
  /** The in-process gateway (in-process mode). */
  readonly gateway: S3Gateway | undefined;
  /** The child process (process mode). */
  readonly process: NodeProcess | undefined;
  stop(): Promise<void>;
}

/**
 * Starts an S3 gateway in front of a MiniCluster, on a free loopback port,
 * acting with the cluster's client token when security is on. Secrets go to a
 * child process by environment, never on its command line.
 */
export async function startS3Gateway(cluster: MiniCluster, options: S3GatewayOptions = {}): Promise<S3GatewayHandle> {
  const credentials = options.credentials ?? [generateS3Credential()];
  const token = cluster.security?.clientToken;
  const credentialText = credentials.map((c) => `${c.accessKeyId}:${c.secretAccessKey}:${c.access === "read-write" ? "rw" : "ro"}`).join(",");
  if ((options.mode ?? "in-process") === "in-process") {
    const config = s3GatewayConfigSchema.parse({
      logLevel: "silent",
      ...options.config,
      host: "127.0.0.1",
      port: 0,
      namenode: cluster.nameNodeAddress,
      credentials: credentialText,
      ...(token ? { token } : {}),
    });
    const gateway = await S3Gateway.start(config, createLogger("s3-gateway", config.logLevel));
    return { address: gateway.address, credentials, gateway, process: undefined, stop: () => gateway.stop() };
  }
  const flags = Object.entries(options.config ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [flagName(k), String(v)]));
  const proc = await startNodeProcess("@trainfs/s3-gateway", ["--host", "127.0.0.1", "--port", "0", "--namenode", cluster.nameNodeAddress, ...flags], {
    logFile: join(cluster.baseDir, `s3-gateway-${randomBytes(3).toString("hex")}.log`),
    env: { TRAINFS_S3_CREDENTIALS: credentialText, ...(token ? { TRAINFS_S3_TOKEN: token } : {}) },
  });
  return { address: proc.address, credentials, gateway: undefined, process: proc, stop: () => proc.stop() };
}
