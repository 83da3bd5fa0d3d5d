import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import { resolve } from "node:path";
import { TrainfsError } from "@trainfs/core";

export interface DataDirLock {
  release(): void;
}

/** Lock files this process holds: one naming our pid that is not among them was left by an earlier process that had the same pid (a container restarted: its server is pid 1 again). */
const held = new Set<string>();

/**
 * Claims a data directory for this process, like HDFS's `in_use.lock`: two
 * NameNodes (or DataNodes) on one directory would corrupt each other. The lock
 * file holds the owner's pid; a lock whose process is gone (a crash) is taken
 * over. Written by hand rather than with a lock library because the only
 * question is "is that pid alive on this machine", which needs no timers or
 * mtime refreshes.
 */
export function lockDataDir(dir: string, role: string): DataDirLock {
  mkdirSync(dir, { recursive: true });
  // Absolute, so that one directory named two ways is one entry in `held`.
  const path = resolve(dir, "in_use.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      held.add(path);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          held.delete(path);
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number.parseInt(readFileSync(path, "utf8"), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new TrainfsError("failed_precondition", `${role} data directory ${dir} is in use by process ${owner} (${path})`);
      }
      if (owner === process.pid && held.has(path)) {
        throw new TrainfsError("failed_precondition", `${role} data directory ${dir} is already in use by this process`);
      }
      rmSync(path, { force: true }); // stale: its owner is gone (or was an earlier process with our pid)
    }
  }
  throw new TrainfsError("failed_precondition", `cannot lock ${role} data directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
