import { describe, expect, it } from "vitest";
import { TrainfsClient } from "@trainfs/client";
import { generateSecurity } from "../src/index.js";
import { cluster, eventually, newActiveNameNode, rejection } from "./helpers.js";

const RO = "read-only-token-for-safe-mode-01";

describe("safe mode by an operator's hand", () => {
  it("makes the namespace read-only until left, for a read-write token only, and says so", async () => {
    const security = generateSecurity();
    security.apiTokens.push(`ro:${RO}`);
    const c = await cluster({ security });
    const fs = c.client();
    await fs.writeFile("/kept", "before");
    const reader = new TrainfsClient({ namenode: c.nameNodeAddress, token: RO });
    const stranger = new TrainfsClient({ namenode: c.nameNodeAddress });
    try {
      expect((await rejection(reader.setSafeMode(true))).code).toBe("permission_denied");
      expect(await fs.setSafeMode(true)).toMatchObject({ on: true, manual: true });
      expect((await fs.clusterStatus()).safeMode).toMatchObject({ on: true, manual: true });
      const refused = await rejection(fs.writeFile("/new", "x"));
      expect(refused.code).toBe("failed_precondition");
      expect(refused.message).toMatch(/safe mode, entered by an operator/);
      expect((await rejection(fs.rm("/kept"))).code).toBe("failed_precondition");
      expect((await rejection(fs.mkdir("/d"))).code).toBe("failed_precondition");
      // Reads go on; a caller without a token learns nothing of the state.
      expect((await fs.readFile("/kept")).toString()).toBe("before");
      expect((await reader.readFile("/kept")).toString()).toBe("before");
      expect((await rejection(stranger.writeFile("/new", "x"))).code).toBe("unauthenticated");
      expect((await fetch(`${c.nameNodeAddress}/readyz`)).status).toBe(503);
      expect(await (await fetch(`${c.nameNodeAddress}/metrics`)).text()).toMatch(/^trainfs_safe_mode\{[^}]*\} 1$/m);
      // The background round does not end it.
      await new Promise((r) => setTimeout(r, 500));
      expect((await fs.clusterStatus()).safeMode.on).toBe(true);

      expect(await fs.setSafeMode(false)).toMatchObject({ on: false, manual: false });
      await fs.writeFile("/new", "after");
      expect((await fs.readFile("/new")).toString()).toBe("after");
      expect((await fetch(`${c.nameNodeAddress}/readyz`)).status).toBe(200);
    } finally {
      reader.close();
      stranger.close();
    }
  });

  it("holds across a NameNode restart, until an operator leaves it", async () => {
    const c = await cluster({ mode: "process", dataNodes: 1, security: generateSecurity(), nameNode: { defaultReplication: 1 } });
    const fs = c.client();
    await fs.setSafeMode(true);
    await c.restartNameNode({ kill: true });
    await eventually(async () => expect((await fs.clusterStatus()).safeMode).toMatchObject({ on: true, manual: true }), 20_000, 200);
    expect((await rejection(fs.writeFile("/new", "x"))).message).toMatch(/safe mode, entered by an operator/);
    await fs.setSafeMode(false);
    // Once the DataNode has registered with the restarted NameNode.
    await eventually(() => fs.writeFile("/new", "after"), 20_000, 200);
  });

  it("holds across a failover (HA): the NameNode elected next keeps the namespace read-only", async () => {
    const c = await cluster({ mode: "process", dataNodes: 1, security: generateSecurity(), nameNode: { defaultReplication: 1 }, ha: { nameNodes: 2, etcdMembers: 1, leaseTtlSeconds: 2 } });
    const fs = c.client();
    await fs.writeFile("/kept", "before");
    await fs.setSafeMode(true);
    const active = await c.waitForActiveNameNode();
    await c.killNameNode(active, "SIGKILL");
    await newActiveNameNode(c, active);
    expect((await fs.clusterStatus()).safeMode).toMatchObject({ on: true, manual: true });
    expect((await rejection(fs.writeFile("/new", "x"))).message).toMatch(/safe mode, entered by an operator/);
    expect((await fs.readFile("/kept")).toString()).toBe("before");
    await fs.setSafeMode(false);
    await fs.writeFile("/new", "after");
    expect((await fs.readFile("/new")).toString()).toBe("after");
  });
});
