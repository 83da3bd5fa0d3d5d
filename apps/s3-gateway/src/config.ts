import { z } from "zod";
import { configFields, loadConfig, settingDefaults, type ConfigSources } from "@trainfs/common";

/** One S3 key pair the gateway accepts, and what it may do. */
export interface S3Credential {
  accessKeyId: string;
  secretAccessKey: string;
  access: "read-write" | "read-only";
}

const credentialList = () =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (typeof v === "string" ? v.split(",") : v).map((c) => c.trim()).filter((c) => c !== ""))
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^[A-Za-z0-9]{3,128}:[^\s:]{8,128}:(rw|ro)$/,
            "each credential is `ACCESS_KEY:SECRET_KEY:rw` or `:ro`: an access key of 3 to 128 letters and digits, a secret of 8 to 128 characters without spaces or `:`",
          )
          .transform((c): S3Credential => {
            const [accessKeyId, secretAccessKey, access] = c.split(":") as [string, string, string];
            return { accessKeyId, secretAccessKey, access: access === "rw" ? "read-write" : "read-only" };
          }),
      ),
    )
    .meta({ placeholder: "<list>" });

/**
 * Every setting of the S3 gateway, declared once: `--help`, the environment
 * names and the table of docs/operations.md are generated from it.
 */
export const s3GatewayConfigSchema = z.object({
  host: configFields.host().default("127.0.0.1").meta({ description: "address to listen on (`0.0.0.0` for all interfaces)" }),
  port: configFields.port().default(9878).meta({ description: "port to listen on; `0` picks a free one" }),
  namenode: configFields.urls().default(["http://127.0.0.1:9870"]).meta({ description: "the NameNode's address; with high availability, every NameNode, separated by commas (calls follow the active one)" }),
  token: z.string().min(1).optional().meta({
    description: "the NameNode API token the gateway acts with, read-write for writes (prefer `tokenFile` or the environment: `ps` shows flags)",
    placeholder: "<token>",
  }),
  tokenFile: z.string().min(1).optional().meta({ description: "file holding the NameNode API token", placeholder: "<file>" }),
  credentials: credentialList().default([]).meta({
    description: "S3 key pairs, `ACCESS_KEY:SECRET_KEY:rw` or `:ro`, comma-separated (prefer the environment or the config file)",
    details: "A JSON array in the config file. Every request must be signed with one of them (AWS Signature Version 4); anonymous requests are refused, and so is every write signed with a `ro` key.",
  }),
  region: z.string().regex(/^[a-z0-9-]{1,32}$/).default("us-east-1").meta({
    description: "the region GetBucketLocation answers",
    details: "Requests signed for any region are accepted.",
    placeholder: "<region>",
  }),
  chunkSize: configFields.size({ allowZero: true }).default(0).meta({
    description: "chunk size of the files the gateway writes; `0` means the NameNode's default",
    details: "A PUT holds at most two chunks in memory while it sends them: the one arriving, and the one before until its chain acknowledged it.",
  }),
  replication: z.coerce.number().int().min(0).max(64).default(0).meta({ description: "replicas per chunk of the files the gateway writes; `0` means the NameNode's default" }),
  bodyIdleTimeoutMs: configFields.milliseconds().default(30_000).meta({
    description: "a PUT or UploadPart whose body sends nothing for this long fails with RequestTimeout, its write abandoned",
    details: "Shorter than the write path's 60 s idle guard on DataNodes, so that a stalled client is not taken for a hung DataNode.",
  }),
  multipartExpiryMs: configFields.milliseconds().default(24 * 60 * 60 * 1000).meta({
    description: "a multipart upload neither completed nor aborted for this long is removed, its parts' chunks trashed",
  }),
  multipartSweepIntervalMs: configFields.milliseconds().default(10 * 60 * 1000).meta({
    description: "how often the gateway looks for expired multipart uploads (any gateway may remove any upload)",
  }),
  minPartSize: configFields.size().default(5 * 1024 * 1024).meta({
    description: "smallest part, but the last, that CompleteMultipartUpload accepts (S3's 5 MiB)",
  }),
  logLevel: configFields.logLevel().default("info").meta({ description: "what the log keeps" }),
  tlsCert: z.string().min(1).optional().meta({
    description: "PEM certificate chain: the port serves HTTPS only (with `tlsKey`)",
    placeholder: "<file>",
  }),
  tlsKey: z.string().min(1).optional().meta({ description: "PEM private key of `tlsCert`", placeholder: "<file>" }),
  tlsCaFile: z.string().min(1).optional().meta({
    description: "PEM certificates to trust for the NameNode's and DataNodes' `https` addresses",
    placeholder: "<file>",
    defaultText: "system CAs",
  }),
});

export type S3GatewayConfig = z.infer<typeof s3GatewayConfigSchema>;

export const s3GatewayDefaults: S3GatewayConfig = Object.freeze(settingDefaults(s3GatewayConfigSchema));

export const S3_ENV_PREFIX = "TRAINFS_S3_";

export function loadS3GatewayConfig(sources: ConfigSources): S3GatewayConfig {
  return loadConfig(s3GatewayConfigSchema, S3_ENV_PREFIX, sources);
}
