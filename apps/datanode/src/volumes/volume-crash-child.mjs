// Child process of volume-store.test.ts's crash test: appends records to a
// volume store as fast as it can, 8 at a time, and prints each chunk id once
// its append resolved (after the fsync covering it). The parent kills it with
// SIGKILL in the middle and checks every printed record is there.
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { VolumeStore } from "../../dist/volumes/volume-store.js";

const PIECE = 64 * 1024;

/** The bytes of a test chunk, derived from its id (the parent derives them again). */
export function dataOf(chunkId) {
  const length = 1 + (parseInt(chunkId.slice(0, 6), 16) % 9000);
  const seed = createHash("sha256").update(chunkId).digest();
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i += seed.length) seed.copy(data, i);
  return data;
}

export function piecesOf(data) {
  const out = [];
  for (let i = 0; i < data.length; i += PIECE) out.push(crc32(data.subarray(i, i + PIECE)) >>> 0);
  return out;
}

if (process.argv[2]) {
  const store = await VolumeStore.open(process.argv[2], { volumeMaxBytes: 256 * 1024 });
  let n = 0;
  const worker = async (w) => {
    for (;;) {
      const chunkId = createHash("md5").update(`${process.pid}-${w}-${n++}`).digest("hex");
      const data = dataOf(chunkId);
      await store.append(chunkId, data, piecesOf(data), PIECE);
      process.stdout.write(`${chunkId}\n`);
    }
  };
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(worker));
}
