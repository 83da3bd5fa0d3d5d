import { open } from "node:fs/promises";
import { DATA_PART_BYTES } from "@trainfs/core";
import type { BufferPool } from "./buffer-pool.js";
import { partBuffers } from "./part-buffers.js";

/**
 * Bytes [start, end) of a local file in parts of DATA_PART_BYTES, each in a
 * buffer lent by `pool` (the data-transfer client gives it back once
 * sent), the next part read while the last is being used. Ends early when the
 * file is shorter: the caller counts what it got.
 */
export async function* readFileParts(path: string, start: number, end: number, pool: BufferPool = partBuffers): AsyncGenerator<Buffer> {
  const handle = await open(path, "r");
  const readPart = async (at: number): Promise<Buffer> => {
    const data = pool.take(Math.min(DATA_PART_BYTES, end - at));
    let got = 0;
    while (got < data.length) {
      const { bytesRead } = await handle.read(data, got, data.length - got, at + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got < data.length ? data.subarray(0, got) : data;
  };
  let ahead: Promise<Buffer> | undefined;
  try {
    for (let at = start; at < end; ) {
      const data = await (ahead ?? readPart(at));
      if (data.length === 0) return;
      at += data.length;
      ahead = at < end ? readPart(at) : undefined;
      ahead?.catch(() => {}); // observed when awaited
      yield data;
    }
  } finally {
    // A read still under way must finish before the file handle closes.
    await ahead?.catch(() => {});
    await handle.close();
  }
}
