import { describe, expect, it } from "vitest";
import { loadS3GatewayConfig, s3GatewayDefaults } from "./config.js";

describe("the S3 gateway's namenode setting", () => {
  it("is the local NameNode by default", () => {
    expect(s3GatewayDefaults.namenode).toEqual(["http://127.0.0.1:9870"]);
  });

  it("takes every NameNode of an HA cluster, from a flag, the environment or a JSON file's array", () => {
    expect(loadS3GatewayConfig({ flags: { namenode: "http://nn-1:9870, http://nn-2:9870/" } }).namenode).toEqual(["http://nn-1:9870", "http://nn-2:9870"]);
    expect(loadS3GatewayConfig({ env: { TRAINFS_S3_NAMENODE: "https://a:1,https://b:2,https://a:1" } }).namenode).toEqual(["https://a:1", "https://b:2"]);
    expect(loadS3GatewayConfig({ flags: { namenode: ["http://a:1", "http://b:2"] } }).namenode).toEqual(["http://a:1", "http://b:2"]);
  });

  it("names a bad entry's setting and origin", () => {
    expect(() => loadS3GatewayConfig({ flags: { namenode: "http://a:1,b:2" } })).toThrow(/namenode\.1: expected an http\(s\) URL like http:\/\/127\.0\.0\.1:9870 \(from flag --namenode\)/);
    expect(() => loadS3GatewayConfig({ env: { TRAINFS_S3_NAMENODE: " , " } })).toThrow(/namenode: expected at least one URL \(from .*TRAINFS_S3_NAMENODE\)/);
  });
});
