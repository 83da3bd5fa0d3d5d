import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * @trainfs/core runs in browsers: its build has no Node types (tsconfig
 * "types": []), and this checks the same from the sources and the manifest,
 * so a Node import cannot slip in through a type-only path either.
 */
describe("@trainfs/core is universal", () => {
  const dir = new URL(".", import.meta.url);
  const sources = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

  it("imports no Node module and uses no Buffer or process", () => {
    for (const file of sources) {
      // Comments may name Node APIs (to say why they are not used); code may not.
      const text = readFileSync(new URL(file, dir), "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      expect(text, file).not.toMatch(/from\s+"node:|require\(|\bBuffer\b|\bprocess\.|NodeJS\./);
    }
  });

  it("depends on no Node-only package", () => {
    const manifest = JSON.parse(readFileSync(new URL("../package.json", dir), "utf8")) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies).sort()).toEqual(["@bufbuild/protobuf", "@connectrpc/connect", "@trainfs/proto", "crc-32"]);
    const tsconfig = readFileSync(new URL("../tsconfig.build.json", dir), "utf8");
    expect(tsconfig).toMatch(/"types":\s*\[\]/);
  });
});
