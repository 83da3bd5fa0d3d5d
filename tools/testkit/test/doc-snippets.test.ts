import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";
import { afterEach, describe, expect, it } from "vitest";
import { randomFile } from "../src/index.js";
import { cluster, workDir } from "./helpers.js";

/**
 * Docs that cannot rot: every ```ts / ```js example of README.md and
 * docs/sdk.md is extracted and run, each document's Node examples in order
 * as one program (later examples use the `fs` of the first), against a
 * MiniCluster whose addresses replace the documented 127.0.0.1:9870 (the
 * NameNode) and 127.0.0.1:9867 (a DataNode). The browser example runs in
 * Node with the few DOM objects it touches stubbed.
 */
const testkit = resolve(fileURLToPath(import.meta.url), "../..");
const repo = resolve(testkit, "../..");
const run = promisify(execFile);

function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```(?:ts|js|typescript|javascript)\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

const scratchDirs: string[] = [];
afterEach(async () => {
  for (const d of scratchDirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** Runs TypeScript (or JavaScript) as an ES module that resolves @trainfs/client like this package does; cwd is `cwd`. */
async function runModule(source: string, cwd: string, env: Record<string, string>): Promise<string> {
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  // Inside tools/testkit, so that `@trainfs/client` resolves through its node_modules.
  const dir = await mkdtemp(join(testkit, ".doc-snippet-"));
  scratchDirs.push(dir);
  await writeFile(join(dir, "snippet.mjs"), js);
  try {
    const { stdout } = await run(process.execPath, [join(dir, "snippet.mjs")], { cwd, env: { ...process.env, ...env }, timeout: 120_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`the example failed:\n${e.stderr ?? e.message}\n--- program ---\n${js}`);
  }
}

describe("the documented examples run as written", () => {
  it("README.md's and docs/sdk.md's Node examples, and sdk.md's browser example", async () => {
    const c = await cluster({ dataNodes: 4 });
    const cwd = await workDir();
    // The local files the examples name.
    for (const f of ["photo.jpg", "photo-v2.jpg", "app.log"]) await randomFile(join(cwd, f), 50_000);
    await randomFile(join(cwd, "big.bin"), 3 * 1024 * 1024);
    await randomFile(join(cwd, "huge.iso"), 2 * 1024 * 1024);
    await mkdir(join(cwd, "dataset", "sub"), { recursive: true });
    await writeFile(join(cwd, "dataset", "a.txt"), "a\n");
    await writeFile(join(cwd, "dataset", "b.csv"), "b\n");
    await writeFile(join(cwd, "dataset", "sub", "c.txt"), "c\n");
    const addresses = (code: string) => code.replaceAll("http://127.0.0.1:9870", c.nameNodeAddress).replaceAll("http://127.0.0.1:9867", c.dataNodeAddress(3));
    const env = { TRAINFS_TOKEN: "" };
    const fs = c.client();

    const readme = codeBlocks(await readFile(join(repo, "README.md"), "utf8"));
    expect(readme.length).toBeGreaterThanOrEqual(1);
    const readmeOut = await runModule(addresses(readme.join("\n")), cwd, env);
    expect(readmeOut).toContain("/pictures/photo.jpg");
    expect(await fs.exists("/albums")).toBe(false); // its last steps ran
    expect((await readFile(join(cwd, "copy.jpg"))).length).toBe(50_000);
    await rm(join(cwd, "copy.jpg"));

    const sdk = codeBlocks(await readFile(join(repo, "docs", "sdk.md"), "utf8"));
    const browser = sdk.filter((b) => b.includes("@trainfs/client/web"));
    const node = sdk.filter((b) => !b.includes("@trainfs/client/web"));
    expect(node.length).toBeGreaterThanOrEqual(6);
    expect(browser).toHaveLength(1);
    const out = await runModule(addresses(node.join("\n")), cwd, env);
    expect(out).toContain("/projects/a");
    expect(out).toMatch(/COMPOSITE-CRC32/);
    expect(out).toContain("'/datasets/v1/a.txt', '/datasets/v1/b.csv'");
    expect(await fs.stat("/pictures/photo.jpg")).toMatchObject({ replication: 2 });
    expect(await fs.exists("/archive")).toBe(false);
    expect(await readFile(join(cwd, "dataset-copy", "sub", "c.txt"), "utf8")).toBe("c\n");
    expect((await fs.stat("/isos/huge.iso")).size).toBe(2 * 1024 * 1024);

    const stubs = `
globalThis.location = { origin: ${JSON.stringify(c.nameNodeAddress)} };
globalThis.localStorage = { getItem: () => null };
globalThis.document = { querySelector: () => ({ files: [new File([new Uint8Array(300000).fill(5)], "data.bin")] }) };
`;
    await runModule(stubs + browser[0]!, cwd, env);
    expect((await fs.stat("/uploads/data.bin")).size).toBe(300000);
    expect(await fs.exists("/uploads/old")).toBe(false);
  });
});
