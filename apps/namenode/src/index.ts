export { NameNode } from "./namenode.js";
export type { DataNodeView } from "./datanode-manager.js";
export { loadNameNodeConfig, nameNodeConfigSchema, NAMENODE_ENV_PREFIX, type NameNodeConfig } from "./config.js";
