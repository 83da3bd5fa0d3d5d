import { describe, expect, it } from "vitest";
import { dataNodeDefaults, heartbeatIntervalWarning, loadDataNodeConfig } from "./config.js";

describe("heartbeatIntervalWarning", () => {
  it("is quiet while the interval is under a third of the NameNode's timeout", () => {
    expect(heartbeatIntervalWarning(3000, 10_000)).toBeUndefined();
    expect(heartbeatIntervalWarning(200, 2000)).toBeUndefined();
    expect(heartbeatIntervalWarning(3333, 10_000)).toBeUndefined();
  });

  it("names both values and the setting to change otherwise", () => {
    const warning = heartbeatIntervalWarning(3334, 10_000)!;
    expect(warning).toMatch(/heartbeat interval 3334 ms .* heartbeat timeout 10000 ms/);
    expect(warning).toMatch(/lower heartbeatIntervalMs \(--heartbeat-interval-ms, TRAINFS_DATANODE_HEARTBEAT_INTERVAL_MS\) below 3334 ms/);
    expect(heartbeatIntervalWarning(10_000, 10_000)).toBeDefined();
    expect(heartbeatIntervalWarning(20_000, 10_000)).toBeDefined();
  });

  it("says nothing when the NameNode gave no timeout", () => {
    expect(heartbeatIntervalWarning(3000, 0)).toBeUndefined();
  });

  it("holds for the defaults", () => {
    expect(heartbeatIntervalWarning(dataNodeDefaults.heartbeatIntervalMs, 10_000)).toBeUndefined();
  });
});

describe("zone", () => {
  it("is empty by default and takes a short name of letters, digits, '.', '_' and '-'", () => {
    expect(dataNodeDefaults.zone).toBe("");
    expect(loadDataNodeConfig({ env: { TRAINFS_DATANODE_ZONE: "rack-1.a_b" } }).zone).toBe("rack-1.a_b");
    expect(loadDataNodeConfig({ flags: { zone: "eu-west-1a" } }).zone).toBe("eu-west-1a");
    expect(() => loadDataNodeConfig({ flags: { zone: "rack 1" } })).toThrow(/zone: a zone is letters/);
    expect(() => loadDataNodeConfig({ flags: { zone: "z".repeat(65) } })).toThrow(/zone: .*64/);
  });
});

describe("namenode", () => {
  it("is one NameNode by default, and every NameNode of an HA cluster when given a list", () => {
    expect(dataNodeDefaults.namenode).toEqual(["http://127.0.0.1:9870"]);
    expect(loadDataNodeConfig({ flags: { namenode: "http://nn-1:9870,http://nn-2:9870" } }).namenode).toEqual(["http://nn-1:9870", "http://nn-2:9870"]);
    expect(loadDataNodeConfig({ env: { TRAINFS_DATANODE_NAMENODE: " http://nn-1:9870/ " } }).namenode).toEqual(["http://nn-1:9870"]);
    expect(() => loadDataNodeConfig({ flags: { namenode: "http://nn-1:9870,nn-2" } })).toThrow(/namenode\.1: expected an http\(s\) URL/);
  });
});
