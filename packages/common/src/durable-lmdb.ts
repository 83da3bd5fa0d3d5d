/**
 * Options every TrainFS LMDB environment opens with, so that a write
 * transaction resolves only once it would survive a power loss.
 *
 * lmdb-js turns on `overlappingSync` by default on Linux: a commit is made
 * visible, its pages are flushed after the write lock is released, and a
 * marker saying "flushed" is written to a meta page without a flush of its
 * own. After a reboot (a new boot id) LMDB opens the newest snapshot only if
 * its marker reached the disk, and otherwise the one before it, so the last
 * transaction a NameNode acknowledged (a ConfirmFile, a delete) could come
 * back undone. Without it LMDB's classic commit flushes the pages, then the
 * meta page, before the commit returns; concurrent writes still share
 * commits (lmdb-js batches them).
 */
export const durableLmdbOptions = { overlappingSync: false } as const;
