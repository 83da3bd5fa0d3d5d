/**
 * Aborts a transfer that stops making progress: a DataNode that hangs
 * (stopped, swapping, partitioned) would otherwise hold a stream open forever.
 * Call `touch` on every sign of progress; `signal` aborts `idleMs` after the
 * last one, or when `parent` aborts. Always `dispose` when done.
 */
export function idleGuard(idleMs: number, parent?: AbortSignal): { signal: AbortSignal; touch(): void; dispose(): void; timedOut(): boolean } {
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no progress for ${idleMs} ms`));
    }, idleMs);
    timer.unref();
  };
  const onParent = () => controller.abort(parent?.reason);
  parent?.addEventListener("abort", onParent, { once: true });
  if (parent?.aborted) onParent();
  arm();
  return {
    signal: controller.signal,
    touch: arm,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
    timedOut: () => timedOut,
  };
}
