export { NameNode } from "./namenode.js";
export type { DataNodeView } from "./datanode-manager.js";
export { loadNameNodeConfig, nameNodeConfigSchema, nameNodeDefaults, NAMENODE_ENV_PREFIX, type NameNodeConfig } from "./config.js";
export { MetadataStore } from "./metadata-store.js";
export { Namespace } from "./namespace.js";
