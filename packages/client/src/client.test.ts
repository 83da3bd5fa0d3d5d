import { describe, expect, it } from "vitest";
import { TrainfsClient } from "./client.js";

describe("TrainfsClient", () => {
  it("refuses a NameNode address that is not an http(s) URL", () => {
    expect(() => new TrainfsClient({ namenode: "127.0.0.1:9870" })).toThrow(/not an http\(s\) URL/);
  });

  it("validates remote paths before touching the network", async () => {
    // Port 1 on loopback: nothing listens, so only local validation can answer.
    const client = new TrainfsClient({ namenode: "http://127.0.0.1:1" });
    await expect(client.list("relative/path")).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(client.put("/etc/hostname", "/a/./b")).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(client.get("/a//b", "/tmp/x")).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(client.list("/")).rejects.toMatchObject({ code: "unavailable" });
    client.close();
  });
});
