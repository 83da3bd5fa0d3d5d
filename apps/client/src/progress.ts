import cliProgress from "cli-progress";

/** A progress bar on stderr when it is a terminal; nothing otherwise. */
export function progressBar(label: string): { update: (done: number, total: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {doneMiB}/{totalMiB} MiB | {speed} MiB/s`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  return {
    update(done, total) {
      const payload = { doneMiB: mib(done), totalMiB: mib(total), speed: mib(done / Math.max(0.001, (Date.now() - started) / 1000)) };
      if (!running) {
        bar.start(total, done, payload);
        running = true;
      } else bar.update(done, payload);
    },
    stop: () => running && bar.stop(),
  };
}
