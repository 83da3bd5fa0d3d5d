import { isDeepStrictEqual } from "node:util";
import { describeSettings, envName, loadConfig } from "@trainfs/common";
import { NAMENODE_ENV_PREFIX, nameNodeConfigSchema, nameNodeDefaults } from "@trainfs/namenode";
import { DATANODE_ENV_PREFIX, dataNodeConfigSchema, dataNodeDefaults } from "@trainfs/datanode";
import { S3_ENV_PREFIX, s3GatewayConfigSchema, s3GatewayDefaults } from "@trainfs/s3-gateway";

type Role = "namenode" | "datanode" | "s3-gateway";

const roles = {
  namenode: { prefix: NAMENODE_ENV_PREFIX, schema: nameNodeConfigSchema, defaults: nameNodeDefaults as Record<string, unknown> },
  datanode: { prefix: DATANODE_ENV_PREFIX, schema: dataNodeConfigSchema, defaults: dataNodeDefaults as Record<string, unknown> },
  "s3-gateway": { prefix: S3_ENV_PREFIX, schema: s3GatewayConfigSchema, defaults: s3GatewayDefaults as Record<string, unknown> },
};

/** The environment variables a NameNode, DataNode or S3 gateway reads: one per config key. */
export function configEnvNames(role: Role): Set<string> {
  const { prefix, schema } = roles[role];
  return new Set(Object.keys(schema.shape).map((key) => envName(prefix, key)));
}

/** Names among `names` with the role's prefix that are not one of its settings (typos). */
export function unknownConfigEnv(role: Role, names: Iterable<string>): string[] {
  const prefix = roles[role].prefix;
  const known = configEnvNames(role);
  return [...names].filter((name) => name.startsWith(prefix) && !known.has(name));
}

/** What a deploy file sets: a variable, its value as written, and whether the file says it is the default. */
export interface DeployedSetting {
  name: string;
  /** As written; undefined when it comes from elsewhere (a Secret). */
  value: string | undefined;
  claimsDefault: boolean;
}

/**
 * Where a deploy file says a value is the process's default, with "(the
 * default)" in the comment on its line or in the comment lines right above
 * it. Such a value is checked against the schema, so that a changed default
 * cannot leave the file claiming the old one.
 */
export const DEFAULT_CLAIM = "(the default)";

/** Names of TRAINFS_* variables that `text` (YAML, an env file or a unit) claims to set to their default. */
export function defaultClaims(text: string): Set<string> {
  const claimed = new Set<string>();
  let comments: string[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith("#")) {
      // A commented-out assignment ends a comment block: it is an example, not a note on the next line.
      if (/^#\s*(?:Environment=)?TRAINFS_[A-Z0-9_]+=/.test(trimmed)) comments = [];
      else comments.push(trimmed);
      continue;
    }
    const name = /(?:^|[\s-])(?:name:\s*|Environment=)?(TRAINFS_[A-Z0-9_]+)\s*[:=]?/.exec(trimmed)?.[1];
    const trailing = /\s#(.*)$/.exec(trimmed)?.[1] ?? "";
    if (name && (trailing.includes(DEFAULT_CLAIM) || comments.some((c) => c.includes(DEFAULT_CLAIM)))) claimed.add(name);
    comments = [];
  }
  return claimed;
}

/**
 * Problems with what a deploy file sets for a role: names that are no
 * setting, values the process would refuse, and values claimed to be the
 * default that are not. Compose's `${VAR:-fallback}` is checked with its
 * fallback and Kubernetes' `$(VAR)` with a stand-in; `${VAR:?…}` (required
 * from outside) is not checked.
 */
export function deployedSettingProblems(role: Role, settings: DeployedSetting[]): string[] {
  const { prefix, schema, defaults } = roles[role];
  const byEnv = new Map(describeSettings(schema, prefix).map((s) => [s.env, s]));
  const problems: string[] = [];
  for (const { name, value, claimsDefault } of settings) {
    if (!name.startsWith(prefix)) continue;
    const setting = byEnv.get(name);
    if (!setting) {
      problems.push(`${name}: no such setting`);
      continue;
    }
    const resolved = value === undefined ? undefined : resolve(value);
    if (resolved === undefined) {
      if (claimsDefault) problems.push(`${name}: claims the default but its value is not written here`);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = (loadConfig(schema, prefix, { env: { [name]: resolved } }) as Record<string, unknown>)[setting.key];
    } catch (err) {
      problems.push(`${name}=${value}: ${(err as Error).message.replace(/\s+/g, " ")}`);
      continue;
    }
    if (claimsDefault && !isDeepStrictEqual(parsed, defaults[setting.key])) {
      problems.push(`${name}=${value} claims the default, but the default of ${setting.key} is ${setting.defaultHelp ?? "none"}`);
    }
  }
  return problems;
}

function resolve(value: string): string | undefined {
  if (/\$\{[A-Za-z0-9_]+(?::?\?[^}]*)?\}/.test(value)) return undefined;
  return value
    .replace(/\$\{[A-Za-z0-9_]+:?-([^}]*)\}/g, "$1")
    .replace(/\$\([A-Za-z0-9_]+\)/g, "x");
}
