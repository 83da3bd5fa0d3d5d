import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { ChunkStore, dataNodeDefaults } from "@trainfs/datanode";
import { rate } from "./measure.js";

// Child process for the chunk-install floor: one DataNode's chunk store on the
// real disk, installing 4 KiB chunks through the same code a write uses
// (with the DataNode's default `packedChunkMaxBytes`: a record appended to a
// volume, one group fsync per round; with 0, a temporary file, checksums,
// fsyncs, renames and a directory fsync), with no network and no NameNode.
// Three of these at once are a small put's storage work on three replicas,
// and so the most any small put could reach here.
const packedChunkMaxBytes = process.argv[3] === undefined ? dataNodeDefaults.packedChunkMaxBytes : Number(process.argv[3]);
const store = await ChunkStore.open(process.argv[2]!, undefined, undefined, { packedChunkMaxBytes });
const data = randomBytes(4096);
const checksum = crc32(data);

async function install(chunkId = randomBytes(16).toString("hex")): Promise<void> {
  const writer = await store.createWriter(chunkId, data.byteLength);
  try {
    await writer.write(data);
    await writer.commit(checksum);
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

// A DataNode that has been running a while has every prefix directory
// (chunks/00 to chunks/ff): one chunk in each first, so the figure is of
// installs alone, not of making directories.
for (let prefix = 0; prefix < 256; prefix++) await install(prefix.toString(16).padStart(2, "0") + randomBytes(15).toString("hex"));

process.on("message", (m: { count: number; inFlight: number }) => {
  void rate(m.count, m.inFlight, () => install()).then(
    (perSecond) => process.send?.({ perSecond }),
    (err: unknown) => process.send?.({ error: String(err) }),
  );
});
process.send?.({ ready: true });
