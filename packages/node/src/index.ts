// @trainfs/node: the Node runtime of the protocol, shared by the SDK and the
// servers (as connect-node is to connect). Universal code belongs in
// @trainfs/core, server-only code in @trainfs/common.
export * from "./request-context.js";
export * from "./rpc-clients.js";
export * from "./buffer-pool.js";
export * from "./part-buffers.js";
export * from "./checksum.js";
export * from "./file-parts.js";
export * from "./chunk-sender.js";
export * from "./retry.js";
export * from "./idle-guard.js";
export * from "./durable-files.js";
export * from "./data-transfer/frames.js";
export * from "./data-transfer/frame-reader.js";
export * from "./data-transfer/frame-writers.js";
export * from "./data-transfer/data-transfer-client.js";
