/**
 * The data-transfer protocol: WriteChunk and ReadChunk as length-prefixed
 * frames on a plain TCP (or TLS) connection (HDFS's DataTransferProtocol plays the
 * same part beside its RPC). Connect would copy every part into a protobuf
 * message, again into an envelope, and again out of HTTP/2 frames on each
 * hop; here a part's bytes go to the socket as they are, behind a 5-byte
 * frame header. The call header, answers and errors are still the
 * protobuf messages of datanode.proto. See docs/protocol.md, "Data transfer".
 */
export const DATA_TRANSFER_PREFACE = Buffer.from("TRAINFS-DATA/1\r\n");
/** Over TLS the protocol is chosen by ALPN instead of the preface. */
export const DATA_TRANSFER_ALPN = "trainfs-data/1";

/** Frame types: a frame is 1 type byte, a u32 big-endian payload length, the payload. */
export const Frame = {
  /** Client: a DataTransferCall (protobuf). */
  Call: 1,
  /** Client: bytes of the chunk being written. */
  Data: 2,
  /** Client: the chunk's CRC-32, 4 bytes big-endian; ends a write. */
  Footer: 3,
  /** Server: a WriteChunkResponse (protobuf); ends a write. */
  Result: 4,
  /** Server: u32 length of a ReadChunkResponse without its data (protobuf), that message, then the data. */
  Part: 5,
  /** Server: the read is complete. */
  End: 6,
  /** Server: a DataTransferError (protobuf); the connection closes after it. */
  Error: 7,
} as const;
export type Frame = (typeof Frame)[keyof typeof Frame];

/** Bytes of a frame header: the type, then the payload length. */
export const FRAME_HEADER_BYTES = 5;

/** Bytes a direct read between frames takes at most (inside a frame, reads go straight into its payload). */
export const FRAME_SCRATCH_BYTES = 64 * 1024;

/** A u32, big-endian: the footer's checksum, a Part frame's metadata length. */
export function uint32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
