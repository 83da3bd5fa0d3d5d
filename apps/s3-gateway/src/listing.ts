import type { FileStatus } from "@trainfs/client";
import { compareKeys } from "./names.js";
import { isFolderMarker } from "./object-meta.js";

/** What the listing reads of TrainFS: one directory, a page at a time, in name order. */
export interface DirectoryLister {
  listPage(path: string, options: { startAfter?: string; pageSize?: number }): Promise<{ entries: FileStatus[]; hasMore: boolean }>;
}

export type Listed = { kind: "object"; key: string; status: FileStatus } | { kind: "prefix"; prefix: string };

export interface ListingRange {
  /** Keys start with it. */
  prefix: string;
  /** Keys (and common prefixes) come after it: start-after, marker or a continuation token. */
  after: string;
  /** Keys with the delimiter after the prefix roll up into one common prefix. */
  delimiter: string;
}

const PAGE = 1000;
const name = (s: FileStatus) => s.path.slice(s.path.lastIndexOf("/") + 1);

/**
 * The objects of a bucket in S3's order, the UTF-8 byte order of whole keys,
 * from TrainFS directories listed one at a time in name order. The two
 * orders differ: a directory `a` holds keys `a/…`, which sort after a file
 * `a-b` ('-' is below '/'), so a directory's subtree is walked only once
 * every name below `a/` in its parent was passed. A folder marker's
 * directory gives the key `a/`, first of its subtree; other empty
 * directories give no key and no common prefix (S3 has no empty prefixes).
 *
 * Yields batches (about a page each), not single entries: an entry passed
 * through a stack of async generators costs a promise per level, which for
 * a 1,000-key listing was most of the gateway's time.
 */
export async function* listObjects(fs: DirectoryLister, bucketPath: string, range: ListingRange): AsyncGenerator<Listed[]> {
  const { prefix, after, delimiter } = range;
  let lastPrefix: string | undefined;
  for await (const batch of walk(fs, bucketPath, "", range)) {
    if (!delimiter || delimiter === "/") {
      yield batch;
      continue;
    }
    // Any other delimiter: keys roll up as they pass (a run of keys with one prefix is contiguous).
    const out: Listed[] = [];
    for (const item of batch) {
      if (item.kind === "object") {
        const cut = item.key.indexOf(delimiter, prefix.length);
        if (cut >= 0) {
          const common = item.key.slice(0, cut + delimiter.length);
          if (common !== lastPrefix && compareKeys(common, after) > 0) {
            lastPrefix = common;
            out.push({ kind: "prefix", prefix: common });
          }
          continue;
        }
      }
      out.push(item);
    }
    if (out.length > 0) yield out;
  }
}

/** A directory's entries after `startAfter`, a page at a time. */
async function* pages(fs: DirectoryLister, dirPath: string, startAfter: string): AsyncGenerator<FileStatus[]> {
  for (let from = startAfter; ; ) {
    const page = await fs.listPage(dirPath, { startAfter: from, pageSize: PAGE });
    if (page.entries.length > 0) yield page.entries;
    if (!page.hasMore || page.entries.length === 0) return;
    from = name(page.entries.at(-1)!);
  }
}

/** Keys and ("/" delimiter) common prefixes below one directory, `rel` its key prefix ("" or "a/b/"), in batches. */
async function* walk(fs: DirectoryLister, dirPath: string, rel: string, range: ListingRange): AsyncGenerator<Listed[]> {
  const { prefix, after } = range;
  const low = compareKeys(after, prefix) >= 0 ? after : prefix;
  // Directories seen but not yet walked, by the key their subtree starts with.
  const pending: Array<{ status: FileStatus; key: string }> = [];
  let out: Listed[] = [];
  const due = (upTo: string | undefined) => pending.length > 0 && (upTo === undefined || compareKeys(pending[0]!.key, upTo) < 0);
  // Walks the pending subtrees that come before `upTo`, after the keys gathered so far.
  const flush = async function* (upTo: string | undefined): AsyncGenerator<Listed[]> {
    if (out.length > 0) {
      yield out;
      out = [];
    }
    while (due(upTo)) {
      const dir = pending.shift()!;
      yield* subtree(fs, dir.status, dir.key, range);
    }
  };
  let past = false;
  for await (const page of pages(fs, dirPath, seekName(rel, low))) {
    for (const status of page) {
      const n = name(status);
      const nameKey = rel + n;
      // Names come in order: once one is past the prefix (and not inside it), all after it are too.
      if (compareKeys(nameKey, prefix) > 0 && !nameKey.startsWith(prefix)) {
        past = true;
        break;
      }
      if (status.type === "directory") {
        const key = `${nameKey}/`;
        if (!key.startsWith(prefix) && !prefix.startsWith(key)) continue;
        // Every key below is at or before `after`.
        if (compareKeys(after, key) > 0 && !after.startsWith(key)) continue;
        if (due(key)) yield* flush(key);
        const at = pending.findIndex((p) => compareKeys(p.key, key) > 0);
        pending.splice(at < 0 ? pending.length : at, 0, { status, key });
      } else {
        if (due(nameKey)) yield* flush(nameKey);
        if (nameKey.startsWith(prefix) && compareKeys(nameKey, after) > 0) out.push({ kind: "object", key: nameKey, status });
      }
    }
    if (out.length > 0) {
      yield out;
      out = [];
    }
    if (past) break;
  }
  yield* flush(undefined);
}

/** A directory's subtree (its folder marker first), or with the "/" delimiter its common prefix when the subtree holds an object. */
async function* subtree(fs: DirectoryLister, dir: FileStatus, key: string, range: ListingRange): AsyncGenerator<Listed[]> {
  const marker = isFolderMarker(dir);
  if (range.delimiter === "/" && key.startsWith(range.prefix) && key.length > range.prefix.length) {
    // The first '/' after the prefix ends the common prefix; walking from the top, that is this directory's.
    if (compareKeys(key, range.after) > 0 && (marker || (await holdsObject(fs, dir.path)))) yield [{ kind: "prefix", prefix: key }];
    return;
  }
  if (marker && key.startsWith(range.prefix) && compareKeys(key, range.after) > 0) yield [{ kind: "object", key, status: dir }];
  yield* walk(fs, dir.path, key, range);
}

/** Whether a directory has an object (a file or a folder marker) anywhere below it. */
export async function holdsObject(fs: DirectoryLister, dirPath: string): Promise<boolean> {
  const dirs: string[] = [];
  for await (const page of pages(fs, dirPath, "")) {
    for (const status of page) {
      if (status.type === "file" || isFolderMarker(status)) return true;
      dirs.push(status.path);
    }
  }
  for (const d of dirs) if (await holdsObject(fs, d)) return true;
  return false;
}

/**
 * Where a directory's listing may start (TrainFS's startAfter, exclusive)
 * without missing a name whose keys reach past `low`. The names below the
 * first segment of `low` matter only as directories that are prefixes of
 * it followed by a byte below '/' (their `name/` sorts after it), so the
 * listing starts before the shortest such prefix.
 */
export function seekName(rel: string, low: string): string {
  if (!low.startsWith(rel)) return "";
  const rest = low.slice(rel.length);
  const slash = rest.indexOf("/");
  const segment = slash < 0 ? rest : rest.slice(0, slash);
  for (let j = 1; j < segment.length; j++) if (segment.charCodeAt(j) < 0x2f) return segment.slice(0, j - 1);
  return segment.slice(0, -1);
}
