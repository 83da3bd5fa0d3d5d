import { describe, expect, it } from "vitest";
import { trainfs } from "./cli-run.js";
import { cluster } from "./helpers.js";

/**
 * The CLI given several NameNodes (`--namenode a,b`, TRAINFS_NAMENODE): one
 * that nobody listens at is skipped, and the command runs on the other.
 * (Following a standby's hint is covered by the SDK's tests against a fake
 * standby.)
 */
describe("the CLI with a list of NameNodes", () => {
  it("skips one that is down, from the flag or the environment", async () => {
    const c = await cluster({ dataNodes: 1 });
    const dead = "http://127.0.0.1:1";
    const put = await trainfs(["--namenode", `${dead},${c.nameNodeAddress}`, "mkdir", "-p", "/ha/dir"]);
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);
    const ls = await trainfs(["ls", "/ha"], { TRAINFS_NAMENODE: `${dead}, ${c.nameNodeAddress}` });
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain("/ha/dir");
  });

  it("refuses a list with an entry that is not a URL, naming it", async () => {
    const r = await trainfs(["--namenode", "http://127.0.0.1:1,127.0.0.1:2", "ls", "/"]);
    expect(r.stderr).toMatch(/^trainfs: NameNode address "127\.0\.0\.1:2" is not an http\(s\) URL like http:\/\/127\.0\.0\.1:9870 \[invalid_argument\]/);
    expect(r.code).toBe(1);
  });
});
