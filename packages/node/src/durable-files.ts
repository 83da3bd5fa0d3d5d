import { open } from "node:fs/promises";

/**
 * Makes the entries of a directory durable. A file's fsync covers its bytes,
 * not its name: a file created or renamed into `path` survives a power loss
 * only once `path` itself has been fsynced.
 */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a small file and fsyncs it before resolving (a chunk's `.meta`):
 * its bytes are durable, its name is not until its directory is fsynced.
 */
export async function writeDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
