import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { S3Credential } from "@trainfs/s3-gateway";

const run = promisify(execFile);

/**
 * A Debian tool (scripts/ensure-s3-tools.sh installs them): /usr/bin first, so
 * a user's own aws or python earlier on PATH does not stand in for Debian's;
 * undefined when it is nowhere.
 */
export function debianTool(name: string): string | undefined {
  if (existsSync(`/usr/bin/${name}`)) return `/usr/bin/${name}`;
  try {
    return execFileSync("which", [name], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A python3 that can import boto3, or undefined. */
export function boto3Python(): string | undefined {
  for (const python of ["/usr/bin/python3", debianTool("python3")]) {
    if (!python) continue;
    try {
      execFileSync(python, ["-c", "import boto3"], { stdio: "ignore" });
      return python;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Says once, in the test output, why a test is skipped. */
export function skipReason(what: string, missing: Array<[string, boolean]>): boolean {
  const absent = missing.filter(([, present]) => !present).map(([name]) => name);
  if (absent.length === 0) return false;
  console.warn(`${what}: skipped, ${absent.join(", ")} not installed (bash scripts/ensure-s3-tools.sh installs them as root)`);
  return true;
}

/**
 * The environment of a tool run: the machine's AWS_* and RCLONE_* settings
 * (a CA bundle, a profile) removed and HOME in `home`, so no config file of
 * the user's applies; then the tool's own settings.
 */
export async function toolEnv(home: string, extra: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  await mkdir(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|RCLONE_|BOTO_)/.test(k)) env[k] = v;
  return { ...env, HOME: home, ...extra };
}

/** The aws CLI's environment for a gateway: keys, region, no instance metadata, config in `home`. */
export async function awsEnv(home: string, credential: Pick<S3Credential, "accessKeyId" | "secretAccessKey">): Promise<NodeJS.ProcessEnv> {
  const config = join(home, "aws-config");
  await mkdir(home, { recursive: true });
  await writeFile(config, "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n");
  await writeFile(join(home, "aws-credentials"), `[default]\naws_access_key_id = ${credential.accessKeyId}\naws_secret_access_key = ${credential.secretAccessKey}\n`, { mode: 0o600 });
  return toolEnv(home, {
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(home, "aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
  });
}

/** rclone's settings for a remote named `name` on the gateway, all in the environment. */
export async function rcloneEnv(home: string, name: string, address: string, credential: Pick<S3Credential, "accessKeyId" | "secretAccessKey">, extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const p = `RCLONE_CONFIG_${name.toUpperCase()}_`;
  return toolEnv(home, {
    RCLONE_CONFIG: join(home, "rclone.conf"),
    [`${p}TYPE`]: "s3",
    [`${p}PROVIDER`]: "Other",
    [`${p}ENDPOINT`]: address,
    [`${p}ACCESS_KEY_ID`]: credential.accessKeyId,
    [`${p}SECRET_ACCESS_KEY`]: credential.secretAccessKey,
    [`${p}REGION`]: "us-east-1",
    [`${p}FORCE_PATH_STYLE`]: "true",
    ...extra,
  });
}

/** Runs a tool to its end; a failure carries the tool's stderr. */
export async function tool(file: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<string> {
  try {
    const { stdout } = await run(file, args, { env, cwd, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`${file} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}
