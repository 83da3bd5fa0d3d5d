import { describe, expect, it } from "vitest";
import { defaultClaims, deployedSettingProblems, unknownConfigEnv } from "./config-env.js";

describe("deploy settings checks", () => {
  it("finds the variables a file claims to set to their default", () => {
    const text = [
      "# The port (the default).",
      "TRAINFS_NAMENODE_PORT=9870",
      "TRAINFS_NAMENODE_HOST=0.0.0.0",
      "# Shorter than the default",
      "TRAINFS_NAMENODE_HEARTBEAT_TIMEOUT_MS=5000",
      "        - name: TRAINFS_DATANODE_PORT # (the default)",
      "    TRAINFS_DATANODE_LOG_LEVEL: info  # (the default)",
      "# (the default)",
      "# TRAINFS_DATANODE_CAPACITY=2TiB",
      "TRAINFS_DATANODE_ZONE=a",
    ].join("\n");
    expect([...defaultClaims(text)].sort()).toEqual(["TRAINFS_DATANODE_LOG_LEVEL", "TRAINFS_DATANODE_PORT", "TRAINFS_NAMENODE_PORT"]);
  });

  it("reports unknown names, refused values and wrong default claims", () => {
    expect(
      deployedSettingProblems("namenode", [
        { name: "TRAINFS_NAMENODE_PORT", value: "9870", claimsDefault: true },
        { name: "TRAINFS_NAMENODE_HEARTBEAT_TIMEOUT_MS", value: "30000", claimsDefault: false },
        { name: "TRAINFS_NAMENODE_HEARTBEAT_TIMEOUT_MS", value: "30000", claimsDefault: true },
        { name: "TRAINFS_NAMENODE_DEFAULT_CHUNK_SIZE", value: "64MiB", claimsDefault: true },
        { name: "TRAINFS_NAMENODE_PORT", value: "ninety", claimsDefault: false },
        { name: "TRAINFS_NAMENODE_REPLICATION_INTERVAL_MS", value: "1000", claimsDefault: false },
        { name: "TRAINFS_NAMENODE_CLUSTER_SECRET", value: undefined, claimsDefault: false },
        { name: "POD_NAME", value: undefined, claimsDefault: false },
      ]),
    ).toEqual([
      "TRAINFS_NAMENODE_HEARTBEAT_TIMEOUT_MS=30000 claims the default, but the default of heartbeatTimeoutMs is 10000",
      expect.stringMatching(/^TRAINFS_NAMENODE_PORT=ninety: invalid configuration: port: /),
      "TRAINFS_NAMENODE_REPLICATION_INTERVAL_MS: no such setting",
    ]);
  });

  it("checks Compose fallbacks and Kubernetes substitutions, and leaves required outside values alone", () => {
    expect(
      deployedSettingProblems("datanode", [
        { name: "TRAINFS_DATANODE_HEARTBEAT_INTERVAL_MS", value: "${HB:-3000}", claimsDefault: true },
        { name: "TRAINFS_DATANODE_ADVERTISE_ADDRESS", value: "http://$(POD_NAME).dn.$(POD_NAMESPACE).svc:9866", claimsDefault: false },
        { name: "TRAINFS_DATANODE_CLUSTER_SECRET", value: "${SECRET:?set it}", claimsDefault: false },
        { name: "TRAINFS_DATANODE_ZONE", value: "${ZONE:-rack 1}", claimsDefault: false },
      ]),
    ).toEqual([expect.stringMatching(/^TRAINFS_DATANODE_ZONE=\$\{ZONE:-rack 1\}: .*zone: a zone is letters/)]);
  });

  it("knows every setting's variable", () => {
    expect(unknownConfigEnv("datanode", ["TRAINFS_DATANODE_ZONE", "TRAINFS_DATANODE_ADVERTISE_ADRESS", "TRAINFS_NAMENODE_PORT"])).toEqual([
      "TRAINFS_DATANODE_ADVERTISE_ADRESS",
    ]);
    expect(unknownConfigEnv("namenode", ["TRAINFS_NAMENODE_MONITOR_INTERVAL_MS", "TRAINFS_NAMENODE_PLACEMENT_POLICY"])).toEqual([]);
  });
});
