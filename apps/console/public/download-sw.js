// The console's download service worker: the page hands it a stream of a
// file's verified bytes (a transferred ReadableStream) and then navigates a
// hidden frame to /__trainfs_download/<id>; the worker answers that request
// with the stream as an attachment, so the browser's download manager writes
// it to disk as it arrives and neither the page nor the worker holds the file.
// Every other request goes to the network untouched.
const PREFIX = "/__trainfs_download/";
const pending = new Map();

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const m = event.data;
  if (!m || m.type !== "trainfs-download") return; // pings keep the worker alive during a download
  pending.set(m.id, m);
  // Unclaimed after a minute (the frame never came): let the stream go.
  setTimeout(() => {
    const left = pending.get(m.id);
    if (left) {
      pending.delete(m.id);
      left.stream.cancel("the download was never started").catch(() => {});
    }
  }, 60_000);
  event.ports[0]?.postMessage({ ready: true });
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(PREFIX)) return;
  const id = decodeURIComponent(url.pathname.slice(PREFIX.length));
  const m = pending.get(id);
  if (!m) {
    event.respondWith(new Response("This download has expired: start it again from the console.", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } }));
    return;
  }
  pending.delete(id);
  const ascii = m.name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  event.respondWith(
    new Response(m.stream, {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(m.size),
        "content-disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(m.name)}`,
        "cache-control": "no-store",
      },
    }),
  );
});
