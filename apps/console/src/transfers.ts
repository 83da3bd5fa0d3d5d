import { formatSize } from "@trainfs/core";
import { track, type ConsoleContext } from "./context.js";
import { saveToDisk, type SaveMethod } from "./download.js";
import { describeError } from "./errors.js";
import { button, el, formatDuration } from "./format.js";

export type TransferState = "queued" | "running" | "done" | "failed" | "cancelled";

export interface UploadOptions {
  overwrite: boolean;
  /** 0: the NameNode's default. */
  replication: number;
}

interface Transfer {
  id: number;
  kind: "upload" | "download";
  path: string;
  total: number;
  done: number;
  state: TransferState;
  message: string;
  abort: AbortController;
  /** Recent (time, bytes) points, for the rate over the last few seconds. */
  samples: Array<[number, number]>;
  start?: () => Promise<void>;
  row: HTMLElement;
  onFinish?: () => void;
}

/** Uploads run this many files at once; the rest wait in the queue. */
const UPLOADS_AT_ONCE = 2;
const RATE_WINDOW_MS = 3000;

/** Bytes per second over the last few seconds, and the time left at that rate. */
export function rateAndEta(samples: ReadonlyArray<[number, number]>, done: number, total: number): { rate: number; etaSeconds: number } {
  if (samples.length < 2) return { rate: 0, etaSeconds: NaN };
  const [t0, b0] = samples[0]!;
  const [t1, b1] = samples.at(-1)!;
  const rate = t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  return { rate, etaSeconds: rate > 0 ? (total - done) / rate : NaN };
}

/**
 * The transfer list (as MinIO's): every upload and download of the session
 * with its progress, rate, time left and a cancel button. Uploads wait in a
 * queue and run a few at a time; downloads start at once (the file picker
 * needs the click that asked for it). It lives beside the views, so
 * transfers go on while the person browses.
 */
export class Transfers {
  readonly element: HTMLElement;
  private readonly list: HTMLElement;
  private readonly items: Transfer[] = [];
  private nextId = 1;
  private frame = 0;

  constructor(private readonly ctx: ConsoleContext) {
    this.list = el("div", { class: "transfer-list" });
    const clear = button("Clear finished", "clear-transfers", () => {
      for (const t of this.items.filter((t) => t.state !== "queued" && t.state !== "running")) {
        t.row.remove();
        this.items.splice(this.items.indexOf(t), 1);
      }
      this.redraw();
    });
    const fold = button("Hide", "fold-transfers", () => {
      this.list.hidden = !this.list.hidden;
      fold.textContent = this.list.hidden ? `Show (${this.items.length})` : "Hide";
    });
    this.element = el("aside", { class: "transfers", "data-testid": "transfers", hidden: "" }, el("div", { class: "transfers-head" }, el("strong", {}, "Transfers"), el("span", {}, clear, " ", fold)), this.list);
  }

  /** Queues an upload of `file` to `path`. */
  upload(file: File, path: string, options: UploadOptions, onFinish?: () => void): void {
    const t = this.add("upload", path, file.size, onFinish);
    t.start = async () => {
      await track(this.ctx, () =>
        this.ctx.client.put(file, path, {
          overwrite: options.overwrite,
          ...(options.replication ? { replication: options.replication } : {}),
          signal: t.abort.signal,
          onProgress: (done) => this.progress(t, done),
        }),
      );
    };
    this.pump();
  }

  /** Starts a download of `path` to the user's disk at once; call straight from the click. */
  download(path: string, size: number): void {
    const t = this.add("download", path, size);
    t.state = "running";
    const name = path.slice(path.lastIndexOf("/") + 1) || "download";
    this.run(t, async () => {
      const method: SaveMethod | undefined = await saveToDisk(this.ctx.client, path, name, size, {
        signal: t.abort.signal,
        onProgress: (done) => this.progress(t, done),
      });
      if (!method) throw new DOMException("declined", "AbortError");
      t.row.setAttribute("data-method", method);
    });
  }

  /** Transfers not finished: queued or running. */
  get active(): number {
    return this.items.filter((t) => t.state === "queued" || t.state === "running").length;
  }

  private add(kind: Transfer["kind"], path: string, total: number, onFinish?: () => void): Transfer {
    const abort = new AbortController();
    const row = el("div", { class: "transfer", "data-testid": "transfer", "data-kind": kind, "data-path": path });
    const t: Transfer = { id: this.nextId++, kind, path, total, done: 0, state: "queued", message: "", abort, samples: [], row, ...(onFinish ? { onFinish } : {}) };
    this.items.push(t);
    this.list.append(row);
    this.element.hidden = false;
    this.draw(t);
    return t;
  }

  private pump(): void {
    let running = this.items.filter((t) => t.kind === "upload" && t.state === "running").length;
    for (const t of this.items) {
      if (running >= UPLOADS_AT_ONCE) break;
      if (t.kind !== "upload" || t.state !== "queued" || !t.start) continue;
      t.state = "running";
      running++;
      this.run(t, t.start);
    }
  }

  private run(t: Transfer, work: () => Promise<void>): void {
    t.samples = [[performance.now(), 0]];
    this.draw(t);
    void work().then(
      () => {
        t.done = t.total;
        t.state = "done";
      },
      (err: unknown) => {
        const cancelled = t.abort.signal.aborted || (err as Error)?.name === "AbortError";
        t.state = cancelled ? "cancelled" : "failed";
        t.message = cancelled ? "" : describeError(err, `${t.kind === "upload" ? "uploading" : "downloading"} ${t.path}`, this.ctx.client.token !== undefined).text;
      },
    ).finally(() => {
      this.draw(t);
      t.onFinish?.();
      this.pump();
    });
  }

  private progress(t: Transfer, done: number): void {
    t.done = done;
    const now = performance.now();
    t.samples.push([now, done]);
    while (t.samples.length > 2 && now - t.samples[0]![0] > RATE_WINDOW_MS) t.samples.shift();
    this.redraw();
  }

  /** Redraws running rows at most once a frame. */
  private redraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const t of this.items) if (t.state === "running") this.draw(t);
    });
  }

  /** Updates a row in place (its cancel button stays the same element, so a click never misses it). */
  private draw(t: Transfer): void {
    const { rate, etaSeconds } = rateAndEta(t.samples, t.done, t.total);
    const share = t.total > 0 ? t.done / t.total : t.state === "done" ? 1 : 0;
    const detail =
      t.state === "running"
        ? `${formatSize(t.done)} of ${formatSize(t.total)} · ${formatSize(rate)}/s · ${Number.isFinite(etaSeconds) ? `${formatDuration(etaSeconds)} left` : "estimating…"}`
        : t.state === "done"
          ? `${formatSize(t.total)} ${t.kind === "upload" ? "uploaded" : "saved"}`
          : t.state === "queued"
            ? `${formatSize(t.total)}, waiting`
            : t.state === "cancelled"
              ? "cancelled"
              : t.message;
    if (!t.row.firstChild) {
      const cancel = button("Cancel", "cancel", () => {
        t.abort.abort(new DOMException("cancelled by the user", "AbortError"));
        if (t.state === "queued") {
          t.state = "cancelled";
          this.draw(t);
        }
      });
      t.row.append(
        el("span", { class: "transfer-kind" }, t.kind === "upload" ? "↑" : "↓"),
        el("span", { class: "transfer-path", title: t.path }, t.path),
        el("progress", { max: "1", value: "0", "data-testid": "transfer-progress" }),
        el("span", { class: "transfer-detail", "data-testid": "transfer-detail" }),
        cancel,
      );
    }
    t.row.setAttribute("data-state", t.state);
    (t.row.querySelector("progress") as HTMLProgressElement).value = share;
    const text = t.row.querySelector(".transfer-detail")!;
    text.className = `transfer-detail ${t.state}`;
    text.textContent = detail;
    (t.row.querySelector("[data-testid=cancel]") as HTMLElement).hidden = !(t.state === "queued" || t.state === "running");
  }
}
