import cliProgress from "cli-progress";
import type { TransferProgress } from "@trainfs/client";
import { formatSize } from "@trainfs/core";

export interface ProgressBar {
  update(p: TransferProgress): void;
  stop(): void;
  /** The last report, to say what Ctrl-C abandoned. */
  last(): TransferProgress | undefined;
}

/**
 * One bar for a whole transfer on stderr (when it is a terminal): files and
 * bytes done, rate and ETA, all from bytes acknowledged (stored on every
 * replica, or verified and written), not sent.
 */
export function progressBar(label: string, quiet: boolean): ProgressBar {
  let last: TransferProgress | undefined;
  if (quiet || !process.stderr.isTTY) return { update: (p) => void (last = p), stop: () => {}, last: () => last };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {files} files | {done}/{total} | {speed}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  return {
    update(p) {
      last = p;
      const payload = {
        files: `${p.filesDone}/${p.filesTotal}`,
        done: formatSize(p.bytesDone),
        total: formatSize(p.bytesTotal),
        speed: formatSize(p.bytesDone / Math.max(0.001, (Date.now() - started) / 1000)),
      };
      const total = Math.max(p.bytesTotal, p.bytesDone, 1);
      if (!running) {
        bar.start(total, p.bytesDone, payload);
        running = true;
      } else {
        bar.setTotal(total);
        bar.update(p.bytesDone, payload);
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
    last: () => last,
  };
}

/** What Ctrl-C gave up, from the last report: each file under way and how much of it was stored. */
export function abandonedText(p: TransferProgress | undefined, verb: "upload" | "download" | "copy"): string {
  if (!p || p.inFlight.length === 0) return `no ${verb} was under way`;
  const files = p.inFlight.map((f) => `${f.destination} (${formatSize(f.bytesDone)} of ${f.size === undefined ? "?" : formatSize(f.size)} done)`);
  const after = verb === "download" ? "no partial local file is left" : "they were abandoned at once and none of them is visible";
  return `${p.inFlight.length} ${verb}(s) cancelled: ${files.join(", ")}; ${after}; ${p.filesDone} of ${p.filesTotal} file(s) had finished`;
}
