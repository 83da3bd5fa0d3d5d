import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { cluster } from "./helpers.js";

const run = promisify(execFile);
const repo = resolve(fileURLToPath(import.meta.url), "../../../..");
/** The published packages: the SDK and everything it depends on in this repository. */
const PUBLISHED = ["proto", "core", "node", "client"];

let scratch = "";
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("the SDK as a user outside this repository gets it", () => {
  it("packs with real versions, installs with npm into an empty project, and puts, gets and lists", async () => {
    // Outside the repository, so no workspace package can be resolved by walking up.
    scratch = await mkdtemp(join(tmpdir(), "trainfs-sdk-user-"));
    const tarballs = join(scratch, "tarballs");
    for (const name of PUBLISHED) {
      await run("pnpm", ["pack", "--pack-destination", tarballs], { cwd: join(repo, "packages", name) });
    }
    const files = (await readdir(tarballs)).sort();
    expect(files).toEqual(["trainfs-client-0.1.0.tgz", "trainfs-core-0.1.0.tgz", "trainfs-node-0.1.0.tgz", "trainfs-proto-0.1.0.tgz"]);
    for (const f of files) {
      const { stdout } = await run("tar", ["-xOzf", join(tarballs, f), "package/package.json"]);
      const pkg = JSON.parse(stdout) as Record<string, unknown>;
      expect(stdout, f).not.toContain("workspace:");
      expect(pkg, f).toMatchObject({ license: "Apache-2.0", engines: { node: expect.any(String) }, repository: expect.any(Object), description: expect.any(String) });
      expect(pkg.private, f).toBeUndefined();
      const { stdout: listing } = await run("tar", ["-tzf", join(tarballs, f)]);
      expect(listing, f).toMatch(/package\/README\.md/);
      expect(listing, f).toMatch(/package\/LICENSE/);
    }

    const project = join(scratch, "app");
    await run("mkdir", ["-p", project]);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "sdk-user", private: true, type: "module" }));
    await run("npm", ["install", "--no-audit", "--no-fund", ...files.map((f) => join(tarballs, f))], { cwd: project, timeout: 300_000 });
    // The servers' dependencies are not pulled in.
    const installed = await readdir(join(project, "node_modules"));
    for (const server of ["pino", "prom-client", "zod", "lmdb"]) expect(installed).not.toContain(server);
    expect(await readdir(join(project, "node_modules", "@trainfs"))).toEqual(["client", "core", "node", "proto"]);

    const c = await cluster();
    await writeFile(
      join(project, "use-sdk.mjs"),
      `import { TrainfsClient, TrainfsError } from "@trainfs/client";
const fs = new TrainfsClient({ namenode: process.env.TRAINFS_NAMENODE });
const data = Buffer.alloc(300000, 7);
await fs.mkdir("/outside", { parents: true });
const put = await fs.writeFile("/outside/a.bin", data, { chunkSize: 65536 });
const back = await fs.readFile("/outside/a.bin");
const list = (await fs.list("/outside")).map((e) => e.path);
let missing = "";
try { await fs.stat("/outside/none"); } catch (err) { missing = err instanceof TrainfsError ? err.code : "other"; }
console.log(JSON.stringify({ chunks: put.chunkCount, same: Buffer.compare(back, data) === 0, list, missing, sum: (await fs.checksum("/outside/a.bin")).checksum }));
fs.close();
`,
    );
    const { stdout } = await run(process.execPath, ["use-sdk.mjs"], { cwd: project, env: { ...process.env, TRAINFS_NAMENODE: c.nameNodeAddress } });
    expect(JSON.parse(stdout)).toEqual({ chunks: 5, same: true, list: ["/outside/a.bin"], missing: "not_found", sum: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(await readFile(join(project, "node_modules", "@trainfs", "client", "LICENSE"), "utf8")).toContain("Apache License");
  }, 600_000);
});
