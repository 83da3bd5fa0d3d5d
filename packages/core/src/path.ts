import { TrainfsError } from "./errors.js";

/**
 * The rules for TrainFS paths, used by every entry point: absolute, already
 * normalized (no empty, "." or ".." segments, no trailing slash except the
 * root), no NUL, each segment at most 255 bytes and the whole at most 4096
 * bytes of UTF-8. Paths are compared byte for byte: no case folding.
 */
export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;

const utf8 = new TextEncoder();
/** Bytes of a string in UTF-8 (TextEncoder rather than Buffer: this module runs in browsers too). */
function utf8Length(text: string): number {
  return utf8.encode(text).length;
}

export function validatePath(path: string): string[] {
  const fail = (why: string) => {
    throw new TrainfsError("invalid_argument", `invalid path ${JSON.stringify(path)}: ${why}`);
  };
  if (typeof path !== "string" || path.length === 0) fail("the path is empty");
  if (!path.startsWith("/")) fail("it must be absolute (start with '/')");
  if (path.includes("\0")) fail("it contains a NUL character");
  if (utf8Length(path) > MAX_PATH_BYTES) fail(`it is longer than ${MAX_PATH_BYTES} bytes`);
  if (path === "/") return [];
  if (path.endsWith("/")) fail("it must not end with '/'");
  const segments = path.slice(1).split("/");
  for (const segment of segments) {
    if (segment === "") fail("it contains an empty segment ('//')");
    if (segment === "." || segment === "..") fail(`it contains a '${segment}' segment`);
    if (utf8Length(segment) > MAX_SEGMENT_BYTES) {
      fail(`segment ${JSON.stringify(segment.slice(0, 32))}… is longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  return segments;
}

export function joinPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The directory holding `path` ("/" for the root and its children). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}
