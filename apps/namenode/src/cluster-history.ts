import type { ClusterSpace, DataNodeView } from "./datanode-manager.js";

/** What a sample is taken from: the NameNode's live state, read at each step. */
export interface HistorySources {
  now(): number;
  datanodes(): DataNodeView[];
  space(): ClusterSpace;
  chunks(): { underReplicated: number; missing: number; corruptReplicas: number };
  /** Client and admin calls served and seconds spent since start. */
  rpcTotals(): { count: number; seconds: number };
}

interface NodeSample {
  address: string;
  readTotal: number;
  writtenTotal: number;
  read: number;
  write: number;
  age: number;
}

interface Sample {
  timeMs: number;
  capacity: number;
  dfsUsed: number;
  free: number;
  read: number;
  write: number;
  rpcTotal: number;
  rpcSeconds: number;
  rpcRate: number;
  rpcMeanMs: number;
  underReplicated: number;
  missing: number;
  corrupt: number;
  nodes: Map<string, NodeSample>;
}

/** The history as the ClusterHistory RPC answers it: one value per sample in every series. */
export interface HistorySeries {
  stepMs: number;
  timesMs: bigint[];
  capacityBytes: number[];
  dfsUsedBytes: number[];
  freeBytes: number[];
  readBytesPerSecond: number[];
  writeBytesPerSecond: number[];
  rpcPerSecond: number[];
  rpcMeanMs: number[];
  underReplicatedChunks: number[];
  missingChunks: number[];
  corruptReplicas: number[];
  datanodes: Array<{ datanodeId: string; address: string; readBytesPerSecond: number[]; writeBytesPerSecond: number[]; heartbeatAgeSeconds: number[] }>;
}

/**
 * The NameNode's own short memory of the cluster (as a small RRD): every
 * step it samples space, replication health, its RPC totals and each
 * DataNode's heartbeat age and traffic totals (sent in heartbeats), and keeps
 * a fixed number of samples, so its memory is bounded by samples × nodes.
 * Rates are the growth of totals between two samples; a total that shrank
 * (its DataNode restarted) counts from zero. The console draws its charts
 * from it, with no Prometheus needed.
 */
export class ClusterHistory {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sources: HistorySources,
    readonly stepMs: number,
    readonly capacity: number,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.stepMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.samples.length;
  }

  /** Takes one sample now. */
  sample(): void {
    const nowMs = this.sources.now();
    const prev = this.samples.at(-1);
    const seconds = prev ? Math.max(0.001, (nowMs - prev.timeMs) / 1000) : 0;
    const growth = (total: number, before: number | undefined) => (before === undefined || !prev ? NaN : (total >= before ? total - before : total) / seconds);
    const nodes = new Map<string, NodeSample>();
    let read = prev ? 0 : NaN;
    let write = prev ? 0 : NaN;
    for (const n of this.sources.datanodes()) {
      const before = prev?.nodes.get(n.id);
      const s: NodeSample = {
        address: n.address,
        readTotal: n.bytesReadTotal,
        writtenTotal: n.bytesWrittenTotal,
        read: n.live ? growth(n.bytesReadTotal, before?.readTotal) : NaN,
        write: n.live ? growth(n.bytesWrittenTotal, before?.writtenTotal) : NaN,
        age: n.lastHeartbeatMs ? Math.max(0, nowMs - n.lastHeartbeatMs) / 1000 : NaN,
      };
      nodes.set(n.id, s);
      if (Number.isFinite(s.read)) read += s.read;
      if (Number.isFinite(s.write)) write += s.write;
    }
    const space = this.sources.space();
    const chunks = this.sources.chunks();
    const rpc = this.sources.rpcTotals();
    const calls = prev ? rpc.count - prev.rpcTotal : NaN;
    this.samples.push({
      timeMs: nowMs,
      capacity: space.capacityBytes,
      dfsUsed: space.dfsUsedBytes,
      free: space.freeBytes,
      read,
      write,
      rpcTotal: rpc.count,
      rpcSeconds: rpc.seconds,
      rpcRate: prev ? calls / seconds : NaN,
      rpcMeanMs: prev && calls > 0 ? ((rpc.seconds - prev.rpcSeconds) / calls) * 1000 : NaN,
      underReplicated: chunks.underReplicated,
      missing: chunks.missing,
      corrupt: chunks.corruptReplicas,
      nodes,
    });
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  /** Samples taken after `sinceMs` (all kept for 0), oldest first. */
  read(sinceMs = 0): HistorySeries {
    const kept = this.samples.filter((s) => s.timeMs > sinceMs);
    const series = (pick: (s: Sample) => number) => kept.map(pick);
    const ids = new Set<string>();
    for (const s of kept) for (const id of s.nodes.keys()) ids.add(id);
    return {
      stepMs: this.stepMs,
      timesMs: kept.map((s) => BigInt(s.timeMs)),
      capacityBytes: series((s) => s.capacity),
      dfsUsedBytes: series((s) => s.dfsUsed),
      freeBytes: series((s) => s.free),
      readBytesPerSecond: series((s) => s.read),
      writeBytesPerSecond: series((s) => s.write),
      rpcPerSecond: series((s) => s.rpcRate),
      rpcMeanMs: series((s) => s.rpcMeanMs),
      underReplicatedChunks: series((s) => s.underReplicated),
      missingChunks: series((s) => s.missing),
      corruptReplicas: series((s) => s.corrupt),
      datanodes: [...ids].sort().map((id) => ({
        datanodeId: id,
        address: [...kept].reverse().find((s) => s.nodes.has(id))!.nodes.get(id)!.address,
        readBytesPerSecond: series((s) => s.nodes.get(id)?.read ?? NaN),
        writeBytesPerSecond: series((s) => s.nodes.get(id)?.write ?? NaN),
        heartbeatAgeSeconds: series((s) => s.nodes.get(id)?.age ?? NaN),
      })),
    };
  }
}
