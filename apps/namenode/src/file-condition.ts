import { TrainfsError } from "@trainfs/common";
import type { InodeRecord } from "./metadata-store.js";

/** The file a conditional change applies to (PutFile's and ConcatFiles' replace_only, DeleteFile's only_if; S3's If-Match). */
export interface FileCondition {
  attributes: Record<string, string>;
  mtimeMs?: number;
  size?: number;
}

/** The condition as the RPC gave it, or undefined for an unconditional change. */
export function fileCondition(
  wire: { attributes: Record<string, string>; modificationTimeMs?: bigint | undefined; size?: bigint | undefined } | undefined,
): FileCondition | undefined {
  if (!wire) return undefined;
  return {
    attributes: { ...wire.attributes },
    ...(wire.modificationTimeMs === undefined ? {} : { mtimeMs: Number(wire.modificationTimeMs) }),
    ...(wire.size === undefined ? {} : { size: Number(wire.size) }),
  };
}

/**
 * Refuses to change anything but the file a conditional change expects:
 * NotFound when there is no file, FailedPrecondition naming what differs.
 * Callers run it in the transaction that replaces or deletes the file.
 */
export function checkFileCondition(path: string, existing: InodeRecord | undefined, c: FileCondition | undefined): void {
  if (!c) return;
  if (!existing || existing.type !== "file") throw new TrainfsError("not_found", `${path}: no such file (the change was only for an existing one)`);
  const changed = (what: string, found: unknown, expected: unknown) =>
    new TrainfsError("failed_precondition", `${path} is not the file the change was for: its ${what} is ${JSON.stringify(found)}, not ${JSON.stringify(expected)}`);
  for (const [name, value] of Object.entries(c.attributes)) {
    const found = existing.attributes?.[name];
    if (found !== value) throw changed(`attribute ${name}`, found ?? null, value);
  }
  if (c.mtimeMs !== undefined && existing.mtimeMs !== c.mtimeMs) throw changed("modification time", existing.mtimeMs, c.mtimeMs);
  if (c.size !== undefined && existing.size !== c.size) throw changed("size", existing.size, c.size);
}
