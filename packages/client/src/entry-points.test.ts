import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The SDK must not load the servers' code: its built entry points are walked
 * import by import (relative files, and the @trainfs packages they reach,
 * through their own dist) and no module on the way may be one of these.
 * The browser entry must reach no Node module at all.
 */
const SERVER_ONLY = /^(@trainfs\/common|pino|pino-pretty|prom-client|zod|lmdb)(\/|$)/;
const NODE_ONLY = /^(node:|@trainfs\/node(\/|$)|@connectrpc\/connect-node(\/|$))/;

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, "../dist");

/** Every bare specifier the module graph from `entry` imports, with the file that imports it. */
function bareImports(entry: string): Map<string, string> {
  const found = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (spec.startsWith(".")) {
        visit(resolve(dirname(file), spec));
        continue;
      }
      if (!found.has(spec)) found.set(spec, file);
      // Our own packages are followed into their dist: what they import counts too.
      if (spec.startsWith("@trainfs/") && !SERVER_ONLY.test(spec)) {
        const target = createRequire(file).resolve(spec);
        if (existsSync(target)) visit(target);
      }
    }
  };
  visit(entry);
  return found;
}

describe("the SDK's dependency graph", () => {
  it("was built (run the build first)", () => {
    expect(existsSync(join(dist, "index.js")) && existsSync(join(dist, "web/index.js"))).toBe(true);
  });

  it("Node entry: never @trainfs/common, pino, prom-client, zod or lmdb", () => {
    const imports = bareImports(join(dist, "index.js"));
    expect(imports.has("@trainfs/core") && imports.has("@trainfs/node")).toBe(true);
    expect([...imports].filter(([spec]) => SERVER_ONLY.test(spec))).toEqual([]);
  });

  it("browser entry: only @trainfs/core, @trainfs/proto and Connect (connect-web), no Node module", () => {
    const imports = bareImports(join(dist, "web/index.js"));
    expect([...imports].filter(([spec]) => SERVER_ONLY.test(spec) || NODE_ONLY.test(spec))).toEqual([]);
    const packages = new Set([...imports.keys()].map((s) => s.split("/").slice(0, s.startsWith("@") ? 2 : 1).join("/")));
    expect([...packages].sort()).toEqual(["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-web", "@trainfs/core", "@trainfs/proto", "crc-32"]);
  });

  it("package.json: depends on core, node, proto and Connect only", () => {
    const manifest = JSON.parse(readFileSync(resolve(here, "../package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies).filter((d) => SERVER_ONLY.test(d))).toEqual([]);
  });
});
