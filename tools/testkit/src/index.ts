export { MiniCluster, generateSecurity, type MiniClusterOptions, type MiniClusterHaOptions, type ClusterSecurity } from "./mini-cluster.js";
export { getHaStatus, findActive, findServing, haStatusMethod, type HaStatus } from "./ha-status.js";
export { startNodeProcess, spawnChild, binPath, type NodeProcess, type ChildHandle } from "./node-process.js";
export { EtcdCluster, freePorts, ETCD_BIN, type EtcdClientTls, type EtcdClusterOptions, type EtcdMemberStatus } from "./etcd-cluster.js";
export { randomFile, sha256File } from "./files.js";
export { NetLab } from "./net-lab.js";
export { runChaos, prng, type ChaosOptions, type ChaosResult } from "./chaos.js";
export { createCertificateAuthority, generateTls, type CertificateAuthority, type TlsFiles } from "./tls-files.js";
export { startS3Gateway, generateS3Credential, type S3GatewayOptions, type S3GatewayHandle } from "./s3-gateway.js";
