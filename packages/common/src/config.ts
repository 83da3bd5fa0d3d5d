import { readFileSync } from "node:fs";
import { z } from "zod";
import { parseSize } from "@trainfs/core";
import { TrainfsError } from "@trainfs/core";
import { MIN_SECRET_LENGTH } from "./cluster-secret.js";
import { envName, flagName, renamedSettings } from "./settings.js";

export { envName } from "./settings.js";

/**
 * Loads a process's configuration from, in rising precedence: the schema's
 * defaults, a JSON config file, environment variables, and command-line flags.
 * Each key of the schema may come from any layer: key `dataDir` is
 * `"dataDir"` in the file, `<PREFIX>DATA_DIR` in the environment and
 * `--data-dir` on the command line. Errors name the key and where it came from;
 * a key the schema lists as renamed (settings.ts) is refused with its new name.
 */
export interface ConfigSources {
  /** Path of a JSON file whose keys are the schema's keys. */
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /** Flags the user set explicitly (commander's camelCase keys). */
  flags?: Record<string, unknown>;
}

export function loadConfig<T extends z.ZodObject>(
  schema: T,
  envPrefix: string,
  sources: ConfigSources = {},
): z.infer<T> {
  const keys = Object.keys(schema.shape);
  const renamed = renamedSettings(schema);
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};

  const configFile = sources.file ?? sources.env?.[envName(envPrefix, "config")];
  if (configFile) {
    for (const [key, value] of Object.entries(readConfigFile(configFile))) {
      merged[key] = value;
      origin[key] = `config file ${configFile}`;
    }
  }
  for (const key of [...keys, ...Object.keys(renamed)]) {
    const name = envName(envPrefix, key);
    const value = sources.env?.[name];
    if (value !== undefined && value !== "") {
      merged[key] = value;
      origin[key] = `environment variable ${name}`;
    }
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined || key === "config") continue;
    merged[key] = value;
    origin[key] = `flag ${flagName(key)}`;
  }

  // An old name is refused, not ignored: the setting would silently fall back to its default.
  const renamedLines = Object.entries(renamed)
    .filter(([old]) => old in merged)
    .map(([old, now]) => {
      delete merged[old];
      return `  ${old} was renamed ${now} (${flagName(now)}, ${envName(envPrefix, now)}) (from ${origin[old]})`;
    });
  const result = schema.strict().safeParse(merged);
  if (!result.success || renamedLines.length > 0) {
    const lines = renamedLines.concat((result.error?.issues ?? []).map((issue) => {
      const key = issue.path.length > 0 ? issue.path.join(".") : (issue as { keys?: string[] }).keys?.join(", ") ?? "(config)";
      const from = origin[String(issue.path[0])];
      return `  ${key}: ${issue.message}${from ? ` (from ${from})` : ""}`;
    }));
    throw new TrainfsError("invalid_argument", `invalid configuration:\n${lines.join("\n")}`);
  }
  return result.data! as z.infer<T>;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new TrainfsError("invalid_argument", `cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TrainfsError("invalid_argument", `config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new TrainfsError("invalid_argument", `config file ${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Schema pieces shared by the processes' configs. */
/**
 * `rw:<token>`, `ro:<token>`, or `rw:<name>:<token>`: a name is taken only
 * when the rest is still a whole token (16+ characters), so an older token
 * that holds a colon early on reads as a named one only if both parts fit.
 */
const API_TOKEN = /^(rw|ro):(?:([A-Za-z0-9._-]{1,64}):(?=\S{16,}$))?(\S{16,})$/;

export const configFields = {
  port: () => z.coerce.number().int().min(0).max(65535).meta({ placeholder: "<port>" }),
  host: () => z.string().min(1).meta({ placeholder: "<host>" }),
  milliseconds: () => z.coerce.number().int().positive().meta({ placeholder: "<ms>", format: "ms" }),
  /** Bytes, given as a number or a string like "64MiB"; 0 only where `allowZero` (a size that turns something off). */
  size: (options: { allowZero?: boolean } = {}) =>
    z.union([z.number(), z.string()]).transform((v, ctx) => {
      try {
        return parseSize(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }).pipe(options.allowZero ? z.number().int().nonnegative() : z.number().int().positive()).meta({ placeholder: "<size>", format: "size" }),
  url: () => z.url({ protocol: /^https?$/ }).meta({ placeholder: "<url>" }),
  /**
   * NameNode addresses: one URL, or every NameNode of an HA cluster as a
   * comma-separated string or a JSON array (the active one is found by the
   * client; see @trainfs/core's NameNodeFailover).
   */
  urls: () =>
    z
      .union([z.array(z.string()), z.string()])
      .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((u) => u.trim().replace(/\/+$/, "")).filter((u) => u !== ""))
      .pipe(z.array(z.url({ protocol: /^https?$/, error: "expected an http(s) URL like http://127.0.0.1:9870" })).min(1, "expected at least one URL"))
      .transform((list) => [...new Set(list)])
      .meta({ placeholder: "<url[,url...]>" }),
  /** Web origins (scheme://host[:port]) or "*", as a JSON array or a comma-separated string. */
  origins: () =>
    z
      .union([z.array(z.string()), z.string()])
      .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((o) => o.trim()).filter((o) => o !== ""))
      .pipe(z.array(z.union([z.literal("*"), z.string().regex(/^https?:\/\/[^/\s]+$/, "expected an origin like https://console.example.com (scheme, host and port, no path)")])))
      .meta({ placeholder: "<list>" }),
  logLevel: () => z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).meta({ placeholder: "<level>" }),
  /** The cluster secret shared by a NameNode and its DataNodes. */
  secret: () => z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`).meta({ placeholder: "<secret>" }),
  /**
   * Client API tokens, `rw:<token>` (reads and writes) or `ro:<token>` (reads
   * only), comma-separated in the environment or as a JSON array of strings.
   */
  apiTokens: () =>
    z
      .union([z.string(), z.array(z.string())])
      .transform((v) => (typeof v === "string" ? v.split(",") : v).map((t) => t.trim()).filter((t) => t !== ""))
      .pipe(
        z.array(
          z
            .string()
            .regex(
              API_TOKEN,
              "each token is `rw:<token>`, `ro:<token>`, or with a name for the audit log `rw:<name>:<token>` (name: 1 to 64 of [A-Za-z0-9._-]), the token at least 16 characters without spaces",
            )
            .transform((t) => {
              const [, access, name, token] = API_TOKEN.exec(t)!;
              return { access: access === "rw" ? ("read-write" as const) : ("read-only" as const), token: token!, ...(name ? { name } : {}) };
            }),
        ),
      )
      .meta({ placeholder: "<list>" }),
};
