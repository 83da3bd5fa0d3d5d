import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ClientService, FileType } from "@trainfs/proto";
import { ACTIVE_NAMENODE_HEADER } from "@trainfs/core";
import { afterEach, describe, expect, it } from "vitest";
import { TrainfsClient } from "./client.js";

/**
 * The SDK over real HTTP/2 against fake NameNodes: a "standby" that answers
 * every call as the HA contract says, an "active" that answers, one that
 * drops the connection with a call under way, and an address nobody listens at.
 */
const servers: http2.Http2Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

type Role = { kind: "standby"; active?: string } | { kind: "active" } | { kind: "drops" };

async function fakeNameNode(role: Role, seen: string[]): Promise<string> {
  const routes = (router: ConnectRouter) =>
    router.service(ClientService, {
      stat(req) {
        seen.push(`stat ${req.path}`);
        return { file: { path: req.path, type: FileType.DIRECTORY } };
      },
      mkdir(req) {
        seen.push(`mkdir ${req.path}`);
        return { directory: { path: req.path, type: FileType.DIRECTORY } };
      },
      deleteFile(req) {
        seen.push(`delete ${req.path}`);
        return { chunkCount: 0 };
      },
    });
  let self = "";
  const refuse: Interceptor = (next) => async (req) => {
    if (role.kind !== "standby") return next(req);
    const message = role.active ? `NameNode ${self} is a standby; the active NameNode is ${role.active}` : `NameNode ${self} is a standby; no active NameNode is elected yet`;
    throw new ConnectError(message, Code.Unavailable, role.active ? { [ACTIVE_NAMENODE_HEADER]: role.active } : undefined);
  };
  const adapter = connectNodeAdapter({ routes, interceptors: [refuse] });
  const server = http2.createServer((req, res) => {
    if (role.kind === "drops") {
      seen.push(`dropped ${req.url}`);
      req.stream.session?.destroy();
      return;
    }
    adapter(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return self;
}

describe("TrainfsClient with several NameNodes", () => {
  it("accepts the list as an array or separated by commas, and names a bad entry", () => {
    expect(new TrainfsClient({ namenode: "http://127.0.0.1:1, http://127.0.0.1:2" }).activeNameNode).toBe("http://127.0.0.1:1");
    expect(new TrainfsClient({ namenode: ["http://127.0.0.1:2", "http://127.0.0.1:1"] }).activeNameNode).toBe("http://127.0.0.1:2");
    expect(() => new TrainfsClient({ namenode: "http://127.0.0.1:1,127.0.0.1:2" })).toThrow('NameNode address "127.0.0.1:2" is not an http(s) URL');
    expect(() => new TrainfsClient({ namenode: [] })).toThrow(/no NameNode address given/);
  });

  it("follows the standby's hint to the active for reads and writes, then stays there", async () => {
    const seenActive: string[] = [];
    const seenStandby: string[] = [];
    const active = await fakeNameNode({ kind: "active" }, seenActive);
    const standby = await fakeNameNode({ kind: "standby", active }, seenStandby);
    const switches: string[] = [];
    const client = new TrainfsClient({ namenode: [standby, active], onNameNodeSwitch: (from, to, reason) => switches.push(`${from} -> ${to}: ${reason}`) });
    try {
      expect((await client.mkdir("/d")).path).toBe("/d");
      expect(switches).toEqual([`${standby} -> ${active}: ${standby} is a standby; the active is ${active}`]);
      expect(client.activeNameNode).toBe(active);
      expect((await client.stat("/d")).path).toBe("/d");
      expect(seenActive).toEqual(["mkdir /d", "stat /d"]);
    } finally {
      client.close();
    }
  });

  it("skips a NameNode nobody listens at, and a standby with no active elected", async () => {
    const seen: string[] = [];
    const active = await fakeNameNode({ kind: "active" }, seen);
    const standby = await fakeNameNode({ kind: "standby" }, []);
    const client = new TrainfsClient({ namenode: `http://127.0.0.1:1,${standby},${active}` });
    try {
      await client.rm("/x");
      expect(seen).toEqual(["delete /x"]);
      expect(client.activeNameNode).toBe(active);
    } finally {
      client.close();
    }
  });

  it("does not send a write again after its connection dropped under way; a read goes on to the next NameNode", async () => {
    const dropped: string[] = [];
    const seen: string[] = [];
    const drops = await fakeNameNode({ kind: "drops" }, dropped);
    const active = await fakeNameNode({ kind: "active" }, seen);
    const client = new TrainfsClient({ namenode: [drops, active] });
    try {
      const err = await client.rm("/x").catch((e: unknown) => e);
      expect(err).toMatchObject({ name: "TrainfsError", code: "unavailable" });
      expect((err as Error).message).toMatch(/^the connection to NameNode .* failed with DeleteFile under way .*it was not sent again because it may have been done/);
      expect(dropped).toEqual(["dropped /trainfs.v1.ClientService/DeleteFile"]);
      expect(seen).toEqual([]);
      // The next call starts from the next NameNode.
      expect(client.activeNameNode).toBe(active);
      const client2 = new TrainfsClient({ namenode: [drops, active] });
      try {
        expect((await client2.stat("/y")).path).toBe("/y");
        expect(dropped).toEqual(["dropped /trainfs.v1.ClientService/DeleteFile", "dropped /trainfs.v1.ClientService/Stat"]);
        expect(seen).toEqual(["stat /y"]);
      } finally {
        client2.close();
      }
    } finally {
      client.close();
    }
  });

  it("gives up after failoverTimeoutMs with unavailable naming every NameNode tried", async () => {
    const standby = await fakeNameNode({ kind: "standby" }, []);
    const client = new TrainfsClient({ namenode: [standby, "http://127.0.0.1:1"], failoverTimeoutMs: 2000 });
    try {
      const started = Date.now();
      const err = await client.stat("/").catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "unavailable" });
      const message = (err as Error).message;
      expect(message).toMatch(/^no active NameNode answered within 2 s; tried /);
      expect(message).toContain(`${standby} (NameNode ${standby} is a standby; no active NameNode is elected yet)`);
      expect(message).toContain("http://127.0.0.1:1 (");
      // Not repeated by the SDK's own retry of reads: one failover time, not four.
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      client.close();
    }
  });
});
