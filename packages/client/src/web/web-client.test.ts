import { create, toBinary } from "@bufbuild/protobuf";
import { ACTIVE_NAMENODE_HEADER } from "@trainfs/core";
import { FileType, StatResponseSchema } from "@trainfs/proto";
import { describe, expect, it } from "vitest";
import { TrainfsWebClient } from "./web-client.js";

const A = "http://nn-a:9870";
const B = "http://nn-b:9870";

/** A fetch for two NameNodes as a browser sees them: A a standby naming B, B the active. */
function fakeFetch(seen: string[]): typeof globalThis.fetch {
  return async (input) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    seen.push(url);
    if (url.startsWith(A)) {
      return new Response(JSON.stringify({ code: "unavailable", message: `NameNode ${A} is a standby; the active NameNode is ${B}` }), {
        status: 503,
        headers: { "content-type": "application/json", [ACTIVE_NAMENODE_HEADER]: B },
      });
    }
    const body = toBinary(StatResponseSchema, create(StatResponseSchema, { file: { path: "/d", type: FileType.DIRECTORY } }));
    return new Response(body, { status: 200, headers: { "content-type": "application/proto" } });
  };
}

describe("TrainfsWebClient with several NameNodes", () => {
  it("follows the standby's hint to the active, and stays there", async () => {
    const seen: string[] = [];
    const client = new TrainfsWebClient({ namenode: `${A},${B}`, fetch: fakeFetch(seen) });
    expect(client.namenodeUrls).toEqual([A, B]);
    expect((await client.stat("/d")).type).toBe("directory");
    expect(client.namenodeUrl).toBe(B);
    await client.stat("/d");
    expect(seen).toEqual([`${A}/trainfs.v1.ClientService/Stat`, `${B}/trainfs.v1.ClientService/Stat`, `${B}/trainfs.v1.ClientService/Stat`]);
  });

  it("follows the hint with only the page's own NameNode given (the console a standby served)", async () => {
    const seen: string[] = [];
    const client = new TrainfsWebClient({ namenode: A, fetch: fakeFetch(seen) });
    expect((await client.stat("/d")).path).toBe("/d");
    expect(seen.map((u) => new URL(u).origin)).toEqual([A, B]);
  });

  it("refuses a list with an entry that is not a URL, naming it", () => {
    expect(() => new TrainfsWebClient({ namenode: [A, "nn-b"] })).toThrow('NameNode address "nn-b" is not an http(s) URL');
  });
});
