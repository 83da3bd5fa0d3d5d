import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}

/** Every YAML document of a file, parsed; merge keys (`<<: *anchor`) expanded as Compose does. */
export function readYamlDocuments(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, "utf8"), { merge: true }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join("; ")}`);
    return doc.toJS();
  });
}

export function yamlFilesIn(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(".yaml")).sort().map((name) => join(dir, name));
}
