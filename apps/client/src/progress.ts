import cliProgress from "cli-progress";

/** A progress bar with bytes, throughput and ETA on stderr when it is a terminal; nothing otherwise. */
export function progressBar(label: string, quiet: boolean): { update: (done: number, total: number | undefined) => void; stop: () => void } {
  if (quiet || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {doneMiB}/{totalMiB} MiB | {speed} MiB/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  return {
    update(done, total) {
      const t = total ?? Math.max(done, 1);
      const payload = { doneMiB: mib(done), totalMiB: total === undefined ? "?" : mib(total), speed: mib(done / Math.max(0.001, (Date.now() - started) / 1000)) };
      if (!running) {
        bar.start(t, done, payload);
        running = true;
      } else {
        bar.setTotal(t);
        bar.update(done, payload);
      }
    },
    stop: () => {
      if (running) bar.stop();
      running = false;
    },
  };
}
