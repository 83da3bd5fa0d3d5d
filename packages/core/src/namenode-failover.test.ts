import { Code, ConnectError, createClient, createContextValues, type Transport } from "@connectrpc/connect";
import { ClientService } from "@trainfs/proto";
import { describe, expect, it } from "vitest";
import { ACTIVE_NAMENODE_HEADER, NameNodeFailover, REPEATABLE_CALL, isFailoverExhausted, parseNameNodeAddresses } from "./namenode-failover.js";

type Behaviour = "ok" | "standby" | "standby-no-hint" | "refused" | "reset" | "not-found";
const A = "http://nn-a:9870";
const B = "http://nn-b:9870";
const C = "http://nn-c:9870";

/** Fake NameNodes: each address answers as its behaviour says, and records the calls it saw. */
function fakes(behaviour: Record<string, Behaviour>, active = B) {
  const calls: string[] = [];
  const transportFor = (address: string): Transport => ({
    unary: async (method) => {
      calls.push(`${address} ${method.name}`);
      switch (behaviour[address]) {
        case "ok":
          return { stream: false, service: method.parent, method, header: new Headers(), trailer: new Headers(), message: { $typeName: method.output.typeName } } as never;
        case "standby":
          throw new ConnectError(`NameNode ${address} is a standby; the active NameNode is ${active}`, Code.Unavailable, {
            "content-type": "application/json",
            [ACTIVE_NAMENODE_HEADER]: active,
          });
        case "standby-no-hint":
          throw new ConnectError(`NameNode ${address} is a standby; no active NameNode is elected yet`, Code.Unavailable, { "content-type": "application/json" });
        case "not-found":
          throw new ConnectError("no such file", Code.NotFound, { "content-type": "application/json" });
        case "reset":
          // What connect-node makes of a connection reset with the call under way.
          throw new ConnectError("read ECONNRESET", Code.Aborted, undefined, undefined, Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
        default: {
          const cause = Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: "ECONNREFUSED" });
          throw new ConnectError(`connect ECONNREFUSED ${address}`, Code.Unavailable, undefined, undefined, cause);
        }
      }
    },
    stream: () => Promise.reject(new Error("no streams here")),
  });
  return { calls, transportFor };
}

/** A clock that moves only when the failover pauses. */
function clock() {
  let t = 0;
  const pauses: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (pauses.push(ms), (t += ms)), pauses };
}

describe("NameNodeFailover", () => {
  it("follows a standby's hint at once, for a write too, and keeps the active for the next calls", async () => {
    const f = fakes({ [A]: "standby", [B]: "ok" });
    const c = clock();
    const switches: string[] = [];
    const failover = new NameNodeFailover({ addresses: [A, B], transportFor: f.transportFor, ...c, onSwitch: (from, to) => switches.push(`${from}->${to}`) });
    const client = createClient(ClientService, failover);
    await client.mkdir({ path: "/d" });
    await client.stat({ path: "/d" });
    expect(f.calls).toEqual([`${A} Mkdir`, `${B} Mkdir`, `${B} Stat`]);
    expect(c.pauses).toEqual([]);
    expect(failover.active).toBe(B);
    expect(switches).toEqual([`${A}->${B}`]);
  });

  it("follows the hint with a single address too, but returns every other failure as before", async () => {
    const f = fakes({ [A]: "standby", [B]: "ok" });
    const client = createClient(ClientService, new NameNodeFailover({ addresses: [A], transportFor: f.transportFor, ...clock() }));
    await client.stat({ path: "/" });
    expect(f.calls).toEqual([`${A} Stat`, `${B} Stat`]);

    const down = fakes({ [A]: "refused" });
    const single = createClient(ClientService, new NameNodeFailover({ addresses: [A], transportFor: down.transportFor, ...clock() }));
    await expect(single.stat({ path: "/" })).rejects.toMatchObject({ code: Code.Unavailable, rawMessage: `connect ECONNREFUSED ${A}` });
    expect(down.calls).toEqual([`${A} Stat`]);
  });

  it("tries the next address when a connection cannot be made, writes included (they were never sent)", async () => {
    const f = fakes({ [A]: "refused", [B]: "refused", [C]: "ok" });
    const c = clock();
    const client = createClient(ClientService, new NameNodeFailover({ addresses: [A, B, C], transportFor: f.transportFor, ...c }));
    await client.deleteFile({ path: "/x" });
    expect(f.calls).toEqual([`${A} DeleteFile`, `${B} DeleteFile`, `${C} DeleteFile`]);
    expect(c.pauses).toEqual([]);
  });

  it("a standby with no active known yet sends the call on to the next address", async () => {
    const f = fakes({ [A]: "standby-no-hint", [B]: "ok" });
    const client = createClient(ClientService, new NameNodeFailover({ addresses: [A, B], transportFor: f.transportFor, ...clock() }));
    await client.rename({ source: "/a", destination: "/b" });
    expect(f.calls).toEqual([`${A} Rename`, `${B} Rename`]);
  });

  it("pauses with growing, capped delays once every address failed, then succeeds when one comes back", async () => {
    const behaviour: Record<string, Behaviour> = { [A]: "refused", [B]: "refused" };
    const f = fakes(behaviour);
    const c = clock();
    const sleep = async (ms: number) => {
      await c.sleep(ms);
      if (c.pauses.length === 4) behaviour[B] = "ok";
    };
    const client = createClient(ClientService, new NameNodeFailover({ addresses: [A, B], transportFor: f.transportFor, now: c.now, sleep, maxDelayMs: 400 }));
    await client.stat({ path: "/" });
    expect(c.pauses).toHaveLength(4);
    // 100, 200, 400, 400 ms, each with up to a quarter less of jitter.
    [100, 200, 400, 400].forEach((ms, i) => {
      expect(c.pauses[i]).toBeGreaterThanOrEqual(ms * 0.75);
      expect(c.pauses[i]).toBeLessThanOrEqual(ms);
    });
    expect(f.calls.at(-1)).toBe(`${B} Stat`);
  });

  it("gives up after the failover time with unavailable naming every address tried", async () => {
    const f = fakes({ [A]: "refused", [B]: "standby-no-hint" });
    const c = clock();
    const client = createClient(ClientService, new NameNodeFailover({ addresses: [A, B], transportFor: f.transportFor, timeoutMs: 5000, ...c }));
    const err = await client.stat({ path: "/" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).rawMessage).toMatch(/^no active NameNode answered within 5 s; tried /);
    expect((err as ConnectError).rawMessage).toContain(`${A} (connect ECONNREFUSED ${A})`);
    expect((err as ConnectError).rawMessage).toContain(`${B} (NameNode ${B} is a standby; no active NameNode is elected yet)`);
    expect(isFailoverExhausted(err)).toBe(true);
    expect(c.now()).toBeLessThanOrEqual(5000);
    expect(c.now()).toBeGreaterThan(2500);
  });

  it("does not send again a write whose connection was lost under way, but the next call goes elsewhere", async () => {
    const f = fakes({ [A]: "reset", [B]: "ok" });
    const failover = new NameNodeFailover({ addresses: [A, B], transportFor: f.transportFor, ...clock() });
    const client = createClient(ClientService, failover);
    await expect(client.putFile({ path: "/f" })).rejects.toMatchObject({
      code: Code.Unavailable,
      rawMessage: `the connection to NameNode ${A} failed with PutFile under way (read ECONNRESET); it was not sent again because it may have been done: check its effect before retrying`,
    });
    expect(f.calls).toEqual([`${A} PutFile`]);
    expect(failover.active).toBe(B);
    await client.putFile({ path: "/f" });
    expect(f.calls).toEqual([`${A} PutFile`, `${B} PutFile`]);
  });

  it("sends again a read, or a write marked repeatable, whose connection was lost", async () => {
    const f = fakes({ [A]: "reset", [B]: "ok" });
    const client = createClient(ClientService, new NameNodeFailover({ addresses: [A, B], transportFor: f.transportFor, ...clock() }));
    await client.getFile({ path: "/f" });
    const g = fakes({ [A]: "reset", [B]: "ok" });
    const client2 = createClient(ClientService, new NameNodeFailover({ addresses: [A, B], transportFor: g.transportFor, ...clock() }));
    await client2.mkdir({ path: "/d", parents: true }, { contextValues: createContextValues().set(REPEATABLE_CALL, true) });
    expect([...f.calls, ...g.calls]).toEqual([`${A} GetFile`, `${B} GetFile`, `${A} Mkdir`, `${B} Mkdir`]);
  });

  it("returns the NameNode's own answers untouched", async () => {
    const f = fakes({ [A]: "not-found", [B]: "ok" });
    const client = createClient(ClientService, new NameNodeFailover({ addresses: [A, B], transportFor: f.transportFor, ...clock() }));
    await expect(client.stat({ path: "/nope" })).rejects.toMatchObject({ code: Code.NotFound, rawMessage: "no such file" });
    expect(f.calls).toEqual([`${A} Stat`]);
  });

  it("stops at once when the caller cancels", async () => {
    const f = fakes({ [A]: "refused", [B]: "refused" });
    const abort = new AbortController();
    const client = createClient(ClientService, new NameNodeFailover({
      addresses: [A, B], transportFor: f.transportFor, now: () => 0, sleep: async () => abort.abort(),
    }));
    await expect(client.stat({ path: "/" }, { signal: abort.signal })).rejects.toBeInstanceOf(ConnectError);
    expect(f.calls).toEqual([`${A} Stat`, `${B} Stat`]);
  });

  it("never follows a hint from https to plain http outside the list", async () => {
    const S1 = "https://nn-a:9870";
    const S2 = "https://nn-b:9870";
    const f = fakes({ [S1]: "standby", [S2]: "ok" }, "http://evil:80");
    const client = createClient(ClientService, new NameNodeFailover({ addresses: [S1, S2], transportFor: f.transportFor, ...clock() }));
    await client.stat({ path: "/" });
    expect(f.calls).toEqual([`${S1} Stat`, `${S2} Stat`]);
  });
});

describe("parseNameNodeAddresses", () => {
  it("takes one URL, a comma-separated list, or an array", () => {
    expect(parseNameNodeAddresses("http://a:1")).toEqual(["http://a:1"]);
    expect(parseNameNodeAddresses(" http://a:1/ , https://b:2,http://a:1 ")).toEqual(["http://a:1", "https://b:2"]);
    expect(parseNameNodeAddresses(["http://a:1", "http://b:2"])).toEqual(["http://a:1", "http://b:2"]);
  });

  it("names the entry that is not a URL", () => {
    expect(() => parseNameNodeAddresses("http://a:1,b:2")).toThrow('NameNode address "b:2" is not an http(s) URL like http://127.0.0.1:9870');
    expect(() => parseNameNodeAddresses(" , ")).toThrow(/no NameNode address given/);
    expect(() => parseNameNodeAddresses([])).toThrow(/no NameNode address given/);
  });
});
