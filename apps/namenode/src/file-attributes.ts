import { TrainfsError } from "@trainfs/common";

/** Bounds of a file's attributes: small labels kept in the inode, never content. */
export const MAX_ATTRIBUTES = 32;
export const MAX_ATTRIBUTE_BYTES = 8 * 1024;
const KEY = /^[a-z0-9-]{1,128}$/;

/**
 * Checks attributes given with PutFile or ConcatFiles and returns them as a
 * plain record (undefined for none, so inodes without attributes stay as
 * they were). InvalidArgument says which bound was crossed.
 */
export function checkAttributes(attributes: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  const entries = Object.entries(attributes ?? {});
  if (entries.length === 0) return undefined;
  if (entries.length > MAX_ATTRIBUTES) {
    throw new TrainfsError("invalid_argument", `a file has at most ${MAX_ATTRIBUTES} attributes, not ${entries.length}`);
  }
  let bytes = 0;
  for (const [key, value] of entries) {
    if (!KEY.test(key)) {
      throw new TrainfsError("invalid_argument", `attribute name ${JSON.stringify(key.slice(0, 140))} must be 1 to 128 characters of a-z, 0-9 and -`);
    }
    if (typeof value !== "string") throw new TrainfsError("invalid_argument", `attribute ${key} must be a string`);
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > MAX_ATTRIBUTE_BYTES) {
    throw new TrainfsError("invalid_argument", `a file's attributes hold at most ${MAX_ATTRIBUTE_BYTES} bytes of names and values together, not ${bytes}`);
  }
  return Object.fromEntries(entries);
}
