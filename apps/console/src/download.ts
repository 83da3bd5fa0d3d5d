import type { TrainfsWebClient } from "@trainfs/client/web";
import { formatSize } from "@trainfs/core";

/** How a download reaches the disk, best first. */
export type SaveMethod = "file-system" | "service-worker" | "memory";

/** Above this, a download held in memory is confirmed first. */
export const MEMORY_WARNING_BYTES = 200 * 1024 * 1024;

export interface SaveOptions {
  signal: AbortSignal;
  onProgress: (done: number, total: number) => void;
}

interface SaveFilePicker {
  showSaveFilePicker?: (options: { suggestedName: string }) => Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;
}

let worker: Promise<ServiceWorker | undefined> | undefined;

/**
 * Registers the download service worker (public/download-sw.js) once; the
 * page is controlled by it from then on. Undefined where service workers
 * are unavailable (plain HTTP on a host that is not localhost, some private
 * windows).
 */
export function downloadWorker(): Promise<ServiceWorker | undefined> {
  worker ??= (async () => {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) return undefined;
    try {
      await navigator.serviceWorker.register("/download-sw.js", { scope: "/" });
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise<void>((resolve) => {
          navigator.serviceWorker.addEventListener("controllerchange", () => resolve(), { once: true });
          setTimeout(resolve, 3000);
        });
      }
      return navigator.serviceWorker.controller ?? undefined;
    } catch {
      return undefined;
    }
  })();
  return worker;
}

/** The method this browser allows, without starting anything. */
export function preferredMethod(): SaveMethod | "service-worker-if-ready" {
  if (typeof (window as SaveFilePicker).showSaveFilePicker === "function") return "file-system";
  if ("serviceWorker" in navigator && window.isSecureContext) return "service-worker-if-ready";
  return "memory";
}

/**
 * Saves a file to the user's disk without holding it in the page: with the
 * File System Access API where there is one (the user picks the file; must
 * be called straight from a click), else through the download service worker
 * (the browser's download manager writes the stream), else (no streaming
 * possible) whole in memory, confirmed first when large. Returns the method
 * used, or undefined if the user declined.
 */
export async function saveToDisk(client: TrainfsWebClient, path: string, name: string, size: number, o: SaveOptions): Promise<SaveMethod | undefined> {
  const picker = (window as SaveFilePicker).showSaveFilePicker;
  if (typeof picker === "function") {
    let handle;
    try {
      // Called before any other await: the picker needs the click's user activation.
      handle = await picker.call(window, { suggestedName: name });
    } catch (err) {
      if ((err as Error).name === "AbortError") return undefined;
      throw err;
    }
    const writable = await handle.createWritable();
    // pipeTo closes the file at the end, and aborts it (nothing half-written is kept) on error or cancel.
    await client.getStream(path, { signal: o.signal, onProgress: o.onProgress }).pipeTo(writable, { signal: o.signal });
    return "file-system";
  }
  const sw = await downloadWorker();
  if (sw) {
    await throughWorker(sw, client, path, name, size, o);
    return "service-worker";
  }
  if (size > MEMORY_WARNING_BYTES && !window.confirm(`This browser cannot stream downloads to disk here, so ${name} (${formatSize(size)}) will be held in memory until it is saved. Continue?`)) {
    return undefined;
  }
  const blob = await client.get(path, { signal: o.signal, onProgress: o.onProgress });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return "memory";
}

/** Hands the verified stream to the service worker and lets a hidden frame fetch it as an attachment; resolves once every byte went. */
async function throughWorker(sw: ServiceWorker, client: TrainfsWebClient, path: string, name: string, size: number, o: SaveOptions): Promise<void> {
  const source = client.getStream(path, { signal: o.signal, onProgress: o.onProgress }).getReader();
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await source.read();
          if (next.done) {
            controller.close();
            finish();
          } else controller.enqueue(next.value);
        } catch (err) {
          controller.error(err);
          fail(err);
        }
      },
      cancel(reason) {
        void source.cancel(reason);
        fail(new DOMException("the download was cancelled", "AbortError"));
      },
    },
    { highWaterMark: 1 },
  );
  o.signal.addEventListener("abort", () => fail(o.signal.reason ?? new DOMException("cancelled", "AbortError")), { once: true });
  const id = crypto.randomUUID();
  const channel = new MessageChannel();
  const ready = new Promise<void>((resolve) => (channel.port1.onmessage = () => resolve()));
  sw.postMessage({ type: "trainfs-download", id, name, size, stream }, [channel.port2, stream as unknown as Transferable]);
  await ready;
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.src = `/__trainfs_download/${encodeURIComponent(id)}`;
  document.body.append(frame);
  // A worker idle for long is stopped by the browser: messages keep it awake while the bytes flow.
  const ping = window.setInterval(() => sw.postMessage({ type: "ping" }), 10_000);
  try {
    await finished;
  } finally {
    window.clearInterval(ping);
    setTimeout(() => frame.remove(), 5000);
  }
}
