import { Command } from "commander";
import { TrainfsClient } from "@trainfs/client";
import { afterEach, describe, expect, it } from "vitest";
import { cliContext } from "./context.js";
import { describeError } from "./errors.js";

function program(args: string[]): Command {
  const p = new Command("trainfs").option("--namenode <url[,url...]>").option("--token <t>").option("--token-file <f>").option("--ca-file <f>");
  return p.parse(args, { from: "user" });
}

const saved = process.env.TRAINFS_NAMENODE;
afterEach(() => {
  if (saved === undefined) delete process.env.TRAINFS_NAMENODE;
  else process.env.TRAINFS_NAMENODE = saved;
});

describe("the CLI's NameNode list", () => {
  it("takes --namenode a,b,c: the client tries them in that order", async () => {
    const ctx = cliContext(program(["--namenode", "http://127.0.0.1:1,http://127.0.0.1:2"]));
    expect(ctx.namenode()).toEqual({ url: "http://127.0.0.1:1,http://127.0.0.1:2", from: "--namenode" });
    expect(await ctx.withClient(async (c) => c.activeNameNode)).toBe("http://127.0.0.1:1");
  });

  it("takes TRAINFS_NAMENODE as a list when no flag is given", async () => {
    process.env.TRAINFS_NAMENODE = "http://127.0.0.1:3 , http://127.0.0.1:4";
    const ctx = cliContext(program([]));
    expect(ctx.namenode().from).toBe("TRAINFS_NAMENODE");
    expect(await ctx.withClient(async (c) => c.activeNameNode)).toBe("http://127.0.0.1:3");
  });

  it("refuses a list with an entry that is not a URL, naming it", async () => {
    const ctx = cliContext(program(["--namenode", "http://127.0.0.1:1,127.0.0.1:2"]));
    await expect(ctx.withClient(async () => undefined)).rejects.toThrow('NameNode address "127.0.0.1:2" is not an http(s) URL');
  });

  it("reports a failover that found no active NameNode with what each one answered", async () => {
    // Nobody listens at port 1 or 2 of loopback.
    const client = new TrainfsClient({ namenode: "http://127.0.0.1:1,http://127.0.0.1:2", failoverTimeoutMs: 300 });
    const err = await client.stat("/").catch((e: unknown) => e);
    client.close();
    const e = describeError(err, { url: "http://127.0.0.1:1,http://127.0.0.1:2", from: "--namenode" });
    expect(e.code).toBe("unavailable");
    expect(e.message).toMatch(/^no active NameNode answered within 300 ms; tried http:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED.*\), http:\/\/127\.0\.0\.1:2 \(.*ECONNREFUSED.*\) \(from --namenode\): is one of them running and active\?/);
  });
});
