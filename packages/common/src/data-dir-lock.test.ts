import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockDataDir } from "./data-dir-lock.js";

describe("lockDataDir", () => {
  it("lets one owner in at a time and frees the directory on release", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainfs-lock-"));
    const lock = lockDataDir(dir, "NameNode");
    expect(readFileSync(join(dir, "in_use.lock"), "utf8")).toBe(`${process.pid}\n`);
    expect(() => lockDataDir(dir, "NameNode")).toThrow(/already in use by this process/);
    lock.release();
    expect(existsSync(join(dir, "in_use.lock"))).toBe(false);
    lockDataDir(dir, "NameNode").release();
  });

  it("refuses a directory held by another live process", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainfs-lock-"));
    writeFileSync(join(dir, "in_use.lock"), `${process.ppid}\n`);
    expect(() => lockDataDir(dir, "DataNode")).toThrow(new RegExp(`in use by process ${process.ppid}`));
  });

  it("takes over a lock naming this process's pid that it does not hold: left by an earlier process with the same pid (a restarted container)", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainfs-lock-"));
    writeFileSync(join(dir, "in_use.lock"), `${process.pid}\n`);
    const lock = lockDataDir(dir, "NameNode");
    expect(() => lockDataDir(dir, "NameNode")).toThrow(/already in use by this process/);
    lock.release();
  });

  it("takes over a lock left by a process that is gone", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainfs-lock-"));
    writeFileSync(join(dir, "in_use.lock"), "2147483646\n");
    const lock = lockDataDir(dir, "DataNode");
    expect(readFileSync(join(dir, "in_use.lock"), "utf8")).toBe(`${process.pid}\n`);
    lock.release();
  });
});
