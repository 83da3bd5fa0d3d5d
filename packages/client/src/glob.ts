import picomatch from "picomatch";
import { TrainfsError, joinPath } from "@trainfs/core";
import type { FileStatus } from "./file-status.js";

/** Glob characters not escaped by a backslash: `*`, `?`, `[`, `{`. */
const MAGIC = /(^|[^\\])(\\\\)*[*?[{]/;

/** True when `pattern` has an unescaped `*`, `?`, `[…]` or `{a,b}`. */
export function hasGlob(pattern: string): boolean {
  return MAGIC.test(pattern);
}

/** The pattern with its backslash escapes removed: `a\*b` names the file `a*b`. */
export function unescapeGlob(pattern: string): string {
  return pattern.replace(/\\(.)/g, "$1");
}

interface Lister {
  list(path: string): Promise<FileStatus[]>;
  stat(path: string): Promise<FileStatus>;
}

/**
 * Expands a glob by listing the directories it walks through (as `hdfs dfs`
 * does, so only the NameNode is asked and no local shell gets in the way):
 * each `/`-separated part with glob characters is matched against the
 * names in its directory with picomatch (dotfiles included, as HDFS does;
 * braces expand within one part). Matches come back sorted by path. A
 * pattern that matches nothing but names an existing path literally (a
 * file called `a[1].txt`) gives that path. Throws not_found when nothing
 * matches.
 */
export async function expandGlob(fs: Lister, pattern: string): Promise<FileStatus[]> {
  if (!hasGlob(pattern)) return [await fs.stat(unescapeGlob(pattern))];
  if (!pattern.startsWith("/")) throw new TrainfsError("invalid_argument", `invalid path ${JSON.stringify(pattern)}: it must be absolute (start with /)`);
  const parts = pattern.split("/").filter((p) => p !== "");
  // Directories reached so far; undefined status = not yet known to exist.
  let reached: Array<{ path: string; status: FileStatus | undefined }> = [{ path: "/", status: undefined }];
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next: typeof reached = [];
    if (!hasGlob(part)) {
      for (const r of reached) next.push({ path: joinPath(r.path, unescapeGlob(part)), status: undefined });
    } else {
      const match = picomatch(part, { dot: true });
      for (const r of reached) {
        for (const entry of await listOrNothing(fs, r.path)) {
          const name = entry.path.slice(entry.path.lastIndexOf("/") + 1);
          if (entry.path === r.path || !match(name)) continue;
          if (!last && entry.type !== "directory") continue;
          next.push({ path: entry.path, status: entry });
        }
      }
    }
    reached = next;
    if (reached.length === 0) break;
  }
  const found: FileStatus[] = [];
  for (const r of reached) {
    const status = r.status ?? (await statOrNothing(fs, r.path));
    if (status) found.push(status);
  }
  if (found.length === 0) {
    const literal = await statOrNothing(fs, pattern);
    if (literal) return [literal];
    throw new TrainfsError("not_found", `${pattern}: no such file or directory (no match for the pattern)`);
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function listOrNothing(fs: Lister, path: string): Promise<FileStatus[]> {
  try {
    return await fs.list(path);
  } catch (err) {
    if (err instanceof TrainfsError && (err.code === "not_found" || err.code === "failed_precondition")) return [];
    throw err;
  }
}

async function statOrNothing(fs: Lister, path: string): Promise<FileStatus | undefined> {
  try {
    return await fs.stat(path);
  } catch (err) {
    if (err instanceof TrainfsError && (err.code === "not_found" || err.code === "invalid_argument")) return undefined;
    throw err;
  }
}
