import type { Socket } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  DataTransferCallSchema,
  DataTransferErrorSchema,
  ReadChunkResponseSchema,
  WriteChunkResponseSchema,
  type DataTransferCall,
  type WriteChunkHeader,
  type WriteChunkRequest,
} from "@trainfs/proto";
import {
  FAILED_DATANODE_HEADER, Frame, FrameReader, TrainfsError, acceptedFrameReader, partBuffers, requestIdFrom, toConnectError, uint32, withRequestId, writeFrame, writeFrames, giveBackUnsent, type CallObserver, type OutgoingFrame,
} from "@trainfs/common";
import type { DataNodeServiceContext } from "./datanode-service.js";
import { readChunk } from "./read-path.js";
import { receiveChunk } from "./pipeline.js";

/**
 * A connection silent for this long is dropped: a peer that vanished without
 * closing (a cut network) must not hold a chunk write open forever.
 */
const IDLE_MS = 120_000;
/** After an error frame, how long the peer has to read it before the connection is cut. */
const ERROR_LINGER_MS = 5_000;
const NO_DATA = new Uint8Array(0);

/**
 * Serves WriteChunk and ReadChunk over the data-transfer protocol
 * (docs/protocol.md): the same pipeline and the same verified reads as the
 * Connect handlers, calls one after another on a connection. A failed call
 * is answered with an error frame and ends the connection, since the caller
 * may still be sending parts of it.
 */
export function dataTransferHandler(ctx: DataNodeServiceContext): (socket: Socket, observe: CallObserver) => void {
  return (socket, observe) => {
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    // Parts arrive in recycled buffers (read straight into them where Node
    // allows); the pipeline gives each back once written and forwarded.
    const frames = acceptedFrameReader(socket, { pool: partBuffers });
    void (async () => {
      try {
        for (let frame = await frames.next(); frame; frame = await frames.next()) {
          if (frame.type !== Frame.Call) throw new TrainfsError("invalid_argument", `data transfer: expected a call, got frame type ${frame.type}`);
          const call = decodeCall(frame.payload);
          const ok = await withRequestId(requestIdFrom(call.requestId), () => serveCall(ctx, socket, frames, call, observe));
          if (!ok) return;
        }
        socket.end();
      } catch (err) {
        // Not inside a call (garbage, or the peer went away between calls).
        ctx.logger.debug({ err: (err as Error).message }, "data-transfer connection dropped");
        sendError(socket, frames, err);
      }
    })();
  };
}

async function serveCall(ctx: DataNodeServiceContext, socket: Socket, frames: FrameReader, call: DataTransferCall, observe: CallObserver): Promise<boolean> {
  const method = call.call.case === "readChunk" ? "ReadChunk" : "WriteChunk";
  const end = observe(method);
  try {
    if (call.call.case === "writeChunk") {
      const answer = await receiveChunk(ctx, writeRequests(frames, call.call.value));
      await writeFrame(socket, Frame.Result, toBinary(WriteChunkResponseSchema, answer));
    } else if (call.call.case === "readChunk") {
      // Each part is sent once the next is read, so the last leaves with the
      // end in one write (a small chunk's read is one system call).
      let last: OutgoingFrame | undefined;
      try {
        for await (const part of readChunk(ctx, call.call.value)) {
          if (last) await writeFrames(socket, [last]);
          const meta = toBinary(ReadChunkResponseSchema, { ...part, data: NO_DATA });
          // The part's buffer (lent by the chunk store's reads) is given back once sent.
          last = { type: Frame.Part, parts: [uint32(meta.length), meta, part.data], lent: part.data };
        }
        const end = { type: Frame.End, parts: [] };
        const frames = last ? [last, end] : [end];
        last = undefined;
        await writeFrames(socket, frames);
      } finally {
        if (last) giveBackUnsent([last]);
      }
    } else {
      throw new TrainfsError("invalid_argument", "data transfer: the call names no operation");
    }
    end();
    return true;
  } catch (err) {
    sendError(socket, frames, end(err) ?? err);
    return false;
  }
}

/** The frames of one chunk write, as the pipeline reads a WriteChunk stream. */
async function* writeRequests(frames: FrameReader, header: WriteChunkHeader): AsyncGenerator<WriteChunkRequest> {
  yield { $typeName: "trainfs.v1.WriteChunkRequest", part: { case: "header", value: header } };
  for (;;) {
    const frame = await frames.next();
    if (!frame) throw new TrainfsError("unavailable", "the writer closed the connection before the footer");
    if (frame.type === Frame.Data) {
      yield { $typeName: "trainfs.v1.WriteChunkRequest", part: { case: "data", value: frame.payload } };
    } else if (frame.type === Frame.Footer && frame.payload.length === 4) {
      yield { $typeName: "trainfs.v1.WriteChunkRequest", part: { case: "footer", value: { $typeName: "trainfs.v1.WriteChunkFooter", checksum: frame.payload.readUInt32BE(0) } } };
      return;
    } else {
      throw new TrainfsError("invalid_argument", `data transfer: a chunk write has data frames then one 4-byte footer, not frame type ${frame.type}`);
    }
  }
}

function decodeCall(payload: Buffer): DataTransferCall {
  try {
    return fromBinary(DataTransferCallSchema, payload);
  } catch (err) {
    throw new TrainfsError("invalid_argument", `data transfer: malformed call: ${(err as Error).message}`);
  }
}

/** Answers with the error, then stops reading the call and lets the peer close; cut after a grace period. */
function sendError(socket: Socket, frames: FrameReader, err: unknown): void {
  frames.discard();
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const ce = toConnectError(err);
  const message = create(DataTransferErrorSchema, { code: ce.code, message: ce.rawMessage, failedDatanode: ce.metadata.get(FAILED_DATANODE_HEADER) ?? "" });
  void writeFrame(socket, Frame.Error, toBinary(DataTransferErrorSchema, message)).catch(() => {});
  socket.end();
  setTimeout(() => socket.destroy(), ERROR_LINGER_MS).unref();
}
