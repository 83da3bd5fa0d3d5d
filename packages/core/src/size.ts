import { TrainfsError } from "./errors.js";

const units: Record<string, number> = {
  "": 1, b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
};

/** Parses "65536", "64MiB", "64m" or "1.5GiB" into bytes (binary units). */
export function parseSize(text: string | number): number {
  if (typeof text === "number") return text;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? units[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new TrainfsError("invalid_argument", `invalid size ${JSON.stringify(text)} (expected e.g. 1048576, 64MiB, 1GiB)`);
  }
  return Math.round(Number(m[1]) * unit);
}

export function formatSize(bytes: number): string {
  const names = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < names.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${names[i]}`;
}

/** Bytes in the largest binary unit that holds them exactly, as settings are written: 65536 → "64KiB", 1000 → "1000". */
export function formatExactSize(bytes: number): string {
  const names = ["KiB", "MiB", "GiB", "TiB"];
  let unit = -1;
  while (unit < names.length - 1 && bytes > 0 && bytes % 1024 ** (unit + 2) === 0) unit++;
  return unit < 0 ? String(bytes) : `${bytes / 1024 ** (unit + 1)}${names[unit]}`;
}

/** Converts a uint64 from the wire to a number, refusing what a number cannot hold exactly. */
export function safeNumber(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TrainfsError("invalid_argument", `${field} is too large (${value})`);
  }
  return Number(value);
}
