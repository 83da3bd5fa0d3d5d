// @trainfs/core: the universal core of the protocol, for browsers and Node
// alike (as connect-es keeps a universal `connect` under connect-node and
// connect-web). Nothing here may use a Node API: the build has no Node types.
export * from "./errors.js";
export * from "./path.js";
export * from "./size.js";
export * from "./checksum.js";
export * from "./rpc-limits.js";
export * from "./failed-datanode.js";
export * from "./request-id.js";
export * from "./authorization.js";
export * from "./map-limit.js";
export * from "./chain-failure.js";
export * from "./file-writer.js";
export * from "./namenode-failover.js";
export * from "./text-encoding.js";
