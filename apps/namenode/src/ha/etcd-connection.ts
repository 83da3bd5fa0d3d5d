import { TrainfsError, loadClientTls } from "@trainfs/common";

/** How this NameNode reaches etcd: its members' URLs, TLS, and the etcd user it acts as. */
export interface EtcdConnection {
  endpoints: string[];
  /** For `https://` members: the roots to trust (the system's when absent) and the client certificate, if any. */
  tls?: { ca?: Buffer | undefined; cert?: Buffer | undefined; key?: Buffer | undefined } | undefined;
  auth?: { username: string; password: string } | undefined;
}

export interface EtcdSettings {
  haEtcd?: string | undefined;
  haEtcdCa?: string | undefined;
  haEtcdCert?: string | undefined;
  haEtcdKey?: string | undefined;
  haEtcdUser?: string | undefined;
  haEtcdPassword?: string | undefined;
}

/**
 * The etcd settings, checked together (undefined when HA is off). A
 * certificate for cleartext URLs, a user without a password, or URLs that mix
 * `http://` and `https://` are configuration errors, not silent fallbacks:
 * the operator meant etcd to be reached securely.
 */
export function etcdConnection(settings: EtcdSettings): EtcdConnection | undefined {
  const endpoints = (settings.haEtcd ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  const security = (["haEtcdCa", "haEtcdCert", "haEtcdKey", "haEtcdUser", "haEtcdPassword"] as const).filter((k) => settings[k] !== undefined);
  if (endpoints.length === 0) {
    if (security.length > 0) throw new TrainfsError("invalid_argument", `${security.join(", ")} set without haEtcd: they say how to reach etcd, which only HA uses`);
    return undefined;
  }
  for (const url of endpoints) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) throw new TrainfsError("invalid_argument", `haEtcd: ${JSON.stringify(url)} is not an etcd client URL such as http://10.0.0.9:2379 or https://etcd-1:2379`);
  }
  const secure = endpoints.filter((u) => u.startsWith("https://")).length;
  if (secure > 0 && secure < endpoints.length) throw new TrainfsError("invalid_argument", "haEtcd mixes http:// and https:// URLs: an etcd cluster's members are all reached the same way");
  const tlsFiles = security.filter((k) => k === "haEtcdCa" || k === "haEtcdCert" || k === "haEtcdKey");
  if (secure === 0 && tlsFiles.length > 0) throw new TrainfsError("invalid_argument", `${tlsFiles.join(", ")} need https:// etcd URLs (haEtcd is ${endpoints.join(",")})`);
  if ((settings.haEtcdUser === undefined) !== (settings.haEtcdPassword === undefined)) {
    throw new TrainfsError("invalid_argument", "etcd authentication needs both haEtcdUser and haEtcdPassword; only one is set");
  }
  return {
    endpoints,
    tls: secure > 0 ? loadClientTls({ ca: settings.haEtcdCa, cert: settings.haEtcdCert, key: settings.haEtcdKey }, { ca: "haEtcdCa", cert: "haEtcdCert", key: "haEtcdKey" }) : undefined,
    auth: settings.haEtcdUser !== undefined ? { username: settings.haEtcdUser, password: settings.haEtcdPassword! } : undefined,
  };
}
