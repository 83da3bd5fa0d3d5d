import { DATA_PART_BYTES } from "@trainfs/core";
import { BufferPool } from "./buffer-pool.js";

/**
 * The process's pool of data-frame payloads (a part's bytes, with a read's
 * few bytes of metadata): see BufferPool for why, and for when a holder may
 * give one back. The one default of the data path's pool parameters
 * (readFileParts, writeFrameGiving, DataTransferClient), so that every part
 * a process moves comes back to the same place.
 */
export const partBuffers = new BufferPool(DATA_PART_BYTES + 64 * 1024, 16);
