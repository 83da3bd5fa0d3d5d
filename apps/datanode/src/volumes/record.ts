import { crc32 } from "node:zlib";

/**
 * The on-disk format of a volume (docs/architecture.md, "Packed chunks").
 *
 * A volume starts with a 32-byte volume header, then holds records back to
 * back, each a record header followed by the chunk's bytes:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | magic `TFSR` |
 * | 4 | 1 | format version (1) |
 * | 5 | 1 | state: 0 live, `D` dead, `Q` quarantined (not covered by the header CRC: flipped in place) |
 * | 6 | 2 | zero |
 * | 8 | 4 | piece size |
 * | 12 | 16 | chunk id |
 * | 28 | 4 | length of the data |
 * | 32 | 8 | the volume's length made durable before this record was appended |
 * | 40 | 4 × pieces | the CRC-32 of each piece, as a plain chunk's `.meta` |
 * | 40 + 4 × pieces | 4 | CRC-32 of the header (all of it but the state byte and this field) |
 *
 * Integers are big-endian. The "durable before" field is what tells, at
 * start, a torn tail (records past the last fsync, which no acknowledgement
 * covered and which may be cut) from damage inside acknowledged records
 * (which must never be cut: the scrubber finds it).
 */
export const RECORD_MAGIC = 0x54465352; // "TFSR"
export const RECORD_VERSION = 1;
export const STATE_OFFSET = 5;
export const STATE_LIVE = 0;
export const STATE_DEAD = 0x44; // "D"
export const STATE_QUARANTINED = 0x51; // "Q"
const FIXED = 40;

export const VOLUME_MAGIC = Buffer.from("TFSVOL1\n", "latin1");
export const VOLUME_HEADER_BYTES = 32;

export interface RecordHeader {
  state: number;
  pieceSize: number;
  chunkId: string;
  length: number;
  durableBefore: number;
  pieces: number[];
  /** Bytes of the header; the data follows. */
  headerBytes: number;
}

export function headerBytes(length: number, pieceSize: number): number {
  return FIXED + 4 * Math.ceil(length / pieceSize) + 4;
}

/** The smallest header (a zero-length chunk): a scan reads at least this much to learn a header's size. */
export const MIN_HEADER_BYTES = FIXED + 4;

export function encodeHeader(r: Omit<RecordHeader, "headerBytes" | "state">): Buffer {
  const size = headerBytes(r.length, r.pieceSize);
  const b = Buffer.alloc(size);
  b.writeUInt32BE(RECORD_MAGIC, 0);
  b[4] = RECORD_VERSION;
  b[STATE_OFFSET] = STATE_LIVE;
  b.writeUInt32BE(r.pieceSize, 8);
  b.write(r.chunkId, 12, 16, "hex");
  b.writeUInt32BE(r.length, 28);
  b.writeBigUInt64BE(BigInt(r.durableBefore), 32);
  r.pieces.forEach((p, i) => b.writeUInt32BE(p >>> 0, FIXED + 4 * i));
  b.writeUInt32BE(headerCrc(b, size - 4), size - 4);
  return b;
}

function headerCrc(b: Buffer, end: number): number {
  return crc32(b.subarray(STATE_OFFSET + 1, end), crc32(b.subarray(0, STATE_OFFSET))) >>> 0;
}

/**
 * The size of the header starting at `b` from its fixed part (at least
 * MIN_HEADER_BYTES), or undefined when it is not a record header's start.
 */
export function peekHeaderBytes(b: Buffer): number | undefined {
  if (b.length < MIN_HEADER_BYTES || b.readUInt32BE(0) !== RECORD_MAGIC || b[4] !== RECORD_VERSION) return undefined;
  const pieceSize = b.readUInt32BE(8);
  if (pieceSize === 0) return undefined;
  return headerBytes(b.readUInt32BE(28), pieceSize);
}

/** Parses a whole header; undefined when its magic, version or CRC is wrong. */
export function decodeHeader(b: Buffer): RecordHeader | undefined {
  const size = peekHeaderBytes(b);
  if (size === undefined || b.length < size) return undefined;
  if (b.readUInt32BE(size - 4) !== headerCrc(b, size - 4)) return undefined;
  const length = b.readUInt32BE(28);
  const pieceSize = b.readUInt32BE(8);
  const pieces: number[] = [];
  for (let i = 0; i < Math.ceil(length / pieceSize); i++) pieces.push(b.readUInt32BE(FIXED + 4 * i));
  return {
    state: b[STATE_OFFSET]!,
    pieceSize,
    chunkId: b.toString("hex", 12, 28),
    length,
    durableBefore: Number(b.readBigUInt64BE(32)),
    pieces,
    headerBytes: size,
  };
}

/** The CRC-32 of each piece of `data` matches `pieces`. */
export function piecesMatch(data: Uint8Array, pieces: readonly number[], pieceSize: number): number | undefined {
  for (let i = 0; i < pieces.length; i++) {
    const actual = crc32(data.subarray(i * pieceSize, Math.min((i + 1) * pieceSize, data.byteLength))) >>> 0;
    if (actual !== pieces[i]) return i;
  }
  return undefined;
}

/** A volume's header: its number, and the volume it was compacted from (0: none, it was appended to). */
export function encodeVolumeHeader(number: number, compactedFrom: number): Buffer {
  const b = Buffer.alloc(VOLUME_HEADER_BYTES);
  VOLUME_MAGIC.copy(b, 0);
  b.writeUInt32BE(number, 8);
  b.writeUInt32BE(compactedFrom, 12);
  b.writeUInt32BE(crc32(b.subarray(0, 16)) >>> 0, 16);
  return b;
}

export function decodeVolumeHeader(b: Buffer): { number: number; compactedFrom: number } | undefined {
  if (b.length < VOLUME_HEADER_BYTES || !b.subarray(0, 8).equals(VOLUME_MAGIC)) return undefined;
  if (b.readUInt32BE(16) !== crc32(b.subarray(0, 16)) >>> 0) return undefined;
  return { number: b.readUInt32BE(8), compactedFrom: b.readUInt32BE(12) };
}
