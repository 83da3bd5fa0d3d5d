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

/**
 * The NameNode settings NameNode HA adds (issue 20's contract: haEtcd,
 * advertiseAddress, haLeaseTtlSeconds), by environment name. The HA deploy
 * files use them; they are checked like every other setting as soon as the
 * NameNode has them.
 */
export const HA_NAMENODE_ENV = ["TRAINFS_NAMENODE_HA_ETCD", "TRAINFS_NAMENODE_ADVERTISE_ADDRESS", "TRAINFS_NAMENODE_HA_LEASE_TTL_SECONDS"] as const;

/** The HA settings this build's NameNode does not have yet (none once NameNode HA is merged). */
export function pendingHaNameNodeEnv(): string[] {
  const known = configEnvNames("namenode");
  return HA_NAMENODE_ENV.filter((name) => !known.has(name));
}

/** The setting that names the NameNode(s) a DataNode or S3 gateway talks to. */
const NAMENODE_LIST_ENV = { datanode: "TRAINFS_DATANODE_NAMENODE", "s3-gateway": "TRAINFS_S3_NAMENODE" } as const;

/** Whether the role's NameNode setting takes a comma-separated list of NameNodes (the HA contract), or one URL as before. */
export function acceptsNameNodeList(role: "datanode" | "s3-gateway"): boolean {
  const { prefix, schema } = roles[role];
  try {
    loadConfig(schema, prefix, { env: { [NAMENODE_LIST_ENV[role]]: "http://a:9870,http://b:9870" } });
    return true;
  } catch {
    return false;
  }
}

/**
 * deployedSettingProblems for the HA deploy files on a build that may not
 * have NameNode HA yet: a pending HA NameNode setting (pendingHaNameNodeEnv)
 * is not checked, and a NameNode list, while the role takes one URL, is
 * checked URL by URL. On a build with HA, this is deployedSettingProblems.
 */
export function deployedHaSettingProblems(role: Role, settings: DeployedSetting[]): string[] {
  const pending = new Set(role === "namenode" ? pendingHaNameNodeEnv() : []);
  const checked = settings.filter((s) => !pending.has(s.name));
  if (role === "namenode" || acceptsNameNodeList(role)) return deployedSettingProblems(role, checked);
  const listEnv = NAMENODE_LIST_ENV[role];
  return deployedSettingProblems(
    role,
    checked.flatMap((s) => (s.name === listEnv && s.value !== undefined ? s.value.split(",").map((value) => ({ ...s, value })) : [s])),
  );
}
