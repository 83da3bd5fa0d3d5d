export { NameNode } from "./namenode.js";
export { loadNameNodeConfig, nameNodeConfigSchema, NAMENODE_ENV_PREFIX, type NameNodeConfig } from "./config.js";
