import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TrainfsClient } from "@trainfs/client";
import { RpcClients } from "@trainfs/common";
import { ClientService } from "@trainfs/proto";
import { generateSecurity } from "../src/index.js";
import { cluster, eventually, rejection } from "./helpers.js";

const RO = "read-only-token-0123456789";

describe("the audit log", () => {
  it("answers who deleted /x, when and from where, names tokens without showing them, and records refusals", async () => {
    const security = generateSecurity();
    security.apiTokens = [`rw:alice:${security.clientToken}`, `ro:${RO}`];
    const c = await cluster({ security });
    const alice = c.client();
    await alice.writeFile("/x", "doomed");
    await alice.mkdir("/d");
    await alice.rename("/d", "/e");
    const before = Date.now();
    await alice.rm("/x");
    await alice.writeFile("/y", "batched");
    const rpc = new RpcClients({ token: security.clientToken });
    const nn = rpc.client(ClientService, c.nameNodeAddress);
    await nn.getFiles({ files: [{ path: "/y" }, { path: "/nope" }] });
    await nn.deleteFiles({ files: [{ path: "/y" }, { path: "/nope" }] });
    rpc.close();
    const reader = new TrainfsClient({ namenode: c.nameNodeAddress, token: RO });
    expect((await rejection(reader.rm("/e", { recursive: true }))).code).toBe("permission_denied");
    expect((await rejection(alice.stat("/x"))).code).toBe("not_found");
    reader.close();

    const file = join(c.baseDir, "namenode", "audit.log");
    const lines = await eventually(async () => {
      const all = (await readFile(file, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
      expect(all.some((l) => l.op === "stat" && l.path === "/x")).toBe(true);
      return all;
    });
    const text = await readFile(file, "utf8");
    expect(text).not.toContain(security.clientToken);
    expect(text).not.toContain(RO);
    // Who deleted /x, when, from where:
    const deleted = lines.filter((l) => l.op === "delete" && l.path === "/x");
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatchObject({ user: "alice", client: "127.0.0.1", result: "ok" });
    expect(Date.parse(deleted[0]!.time!)).toBeGreaterThanOrEqual(before - 5);
    expect(lines).toContainEqual(expect.objectContaining({ op: "create", path: "/x", user: "alice", result: "ok" }));
    expect(lines).toContainEqual(expect.objectContaining({ op: "confirm", path: "/x", result: "ok" }));
    expect(lines).toContainEqual(expect.objectContaining({ op: "rename", path: "/d", dst: "/e", result: "ok" }));
    // A batched call gives a line per item, each with its own outcome.
    for (const op of ["open", "delete"]) {
      expect(lines).toContainEqual(expect.objectContaining({ op, path: "/y", user: "alice", result: "ok" }));
      expect(lines).toContainEqual(expect.objectContaining({ op, path: "/nope", user: "alice", result: "not_found" }));
    }
    // A refused call is there, with the read-only token's fingerprint for a name.
    const refused = lines.find((l) => l.op === "delete" && l.path === "/e")!;
    expect(refused).toMatchObject({ result: "permission_denied", client: "127.0.0.1" });
    expect(refused.user).toMatch(/^ro-[0-9a-f]{8}$/);
    expect(lines).toContainEqual(expect.objectContaining({ op: "stat", path: "/x", result: "not_found" }));
    // Heartbeats and the status polls are not namespace operations.
    expect(lines.some((l) => ["HeartBeat", "ClusterStatus"].includes(l.op!))).toBe(false);
  });

  it("goes nowhere with auditLog off", async () => {
    const c = await cluster({ nameNode: { auditLog: "off" } });
    await c.client().mkdir("/quiet");
    await expect(readFile(join(c.baseDir, "namenode", "audit.log"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
