import { envName } from "@trainfs/common";
import { NAMENODE_ENV_PREFIX, nameNodeConfigSchema } from "@trainfs/namenode";
import { DATANODE_ENV_PREFIX, dataNodeConfigSchema } from "@trainfs/datanode";

/** The environment variables a NameNode or DataNode reads: one per config key. */
export function configEnvNames(role: "namenode" | "datanode"): Set<string> {
  const [prefix, keys] =
    role === "namenode"
      ? [NAMENODE_ENV_PREFIX, Object.keys(nameNodeConfigSchema.shape)]
      : [DATANODE_ENV_PREFIX, Object.keys(dataNodeConfigSchema.shape)];
  return new Set(keys.map((key) => envName(prefix, key)));
}

/** Names among `names` with the role's prefix that are not one of its settings (typos). */
export function unknownConfigEnv(role: "namenode" | "datanode", names: Iterable<string>): string[] {
  const prefix = role === "namenode" ? NAMENODE_ENV_PREFIX : DATANODE_ENV_PREFIX;
  const known = configEnvNames(role);
  return [...names].filter((name) => name.startsWith(prefix) && !known.has(name));
}
