// @trainfs/common: the servers' side of the runtime (RPC server, logger,
// metrics, config, LMDB options, data-dir lock, process main, static files,
// TLS loading, cluster secret, chunk tokens and receipts, CORS policy).
//
// It also re-exports @trainfs/core (universal: errors, paths, sizes, wire
// constants, request ids, chain recovery, the write driver) and @trainfs/node
// (the Node runtime: RPC clients, data transfer, buffer pool, checksums, chunk
// sender, retry, idle guard), so that server code importing those names from
// here keeps working while imports move to their packages. New code should
// import them from @trainfs/core or @trainfs/node directly; the SDK never
// imports @trainfs/common (packages/client checks its built graph).
export * from "@trainfs/core";
export * from "@trainfs/node";
export * from "./config.js";
export { describeSettings, flagName, renamedSettings, replaceGenerated, settingDefaults, settingOptions, settingsTable } from "./settings.js";
export type { Setting, SettingMeta, SettingOption, SettingsMeta } from "./settings.js";
export * from "./logger.js";
export * from "./rpc-server.js";
export * from "./process-main.js";
export * from "./data-dir-lock.js";
export * from "./metrics.js";
export * from "./cluster-secret.js";
export * from "./chunk-token.js";
export * from "./chunk-receipt.js";
export * from "./tls.js";
export * from "./static-files.js";
export * from "./durable-lmdb.js";
