export { DataNode } from "./datanode.js";
export { ChunkStore, type StoredChunk } from "./chunk-store.js";
export { loadDataNodeConfig, dataNodeConfigSchema, dataNodeDefaults, DATANODE_ENV_PREFIX, type DataNodeConfig } from "./config.js";
export { NameNodeLinks, type RoleProbe } from "./namenode-links.js";
export { packedChunksOnDisk, type PackedRecordOnDisk } from "./volumes/volume-store.js";
