/**
 * Limits shared by every TrainFS RPC endpoint and client, Node and browser.
 * Connect-ES defaults to no message limit; ours is explicit on both sides.
 * Chunk data travels in parts of DATA_PART_BYTES, well under the limit.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const DATA_PART_BYTES = 1024 * 1024;
/** Most bytes one WriteChunkPart call (a browser's upload) may carry; a DataNode refuses more. */
export const MAX_PART_BYTES = 4 * 1024 * 1024;
/** A chunk is checksummed in pieces of this many bytes (one CRC-32 each in its `.meta`, one per piece on a read). */
export const PIECE_BYTES = 64 * 1024;
/**
 * HTTP/2 flow-control window, per stream and per session. Node's default of
 * 64 KiB throttles a stream to a fraction of loopback speed (see
 * docs/performance.md); connect-node has no option for it.
 */
export const HTTP2_WINDOW_BYTES = 16 * 1024 * 1024;
