/**
 * Whether the NameNode answers, from the outcomes of the console's own calls:
 * the time of the last answer and, while it does not answer, since when. The
 * banner and the stale marks are drawn from it.
 */
export class Connection {
  lastOk: Date | undefined;
  downSince: Date | undefined;
  private readonly listeners = new Set<() => void>();

  ok(at = new Date()): void {
    const changed = this.downSince !== undefined;
    this.lastOk = at;
    this.downSince = undefined;
    if (changed) this.emit();
  }

  unreachable(at = new Date()): void {
    if (this.downSince) return;
    this.downSince = at;
    this.emit();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

/** Local wall-clock time as HH:MM:SS. */
export function clock(d: Date): string {
  return d.toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
