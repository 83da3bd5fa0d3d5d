import { pino } from "pino";
import { nameNodeConfigSchema, type NameNodeConfig } from "../src/config.js";
import { assembleNameNode } from "../src/namenode-facades.js";
import { openTestStore } from "./test-store.js";

/**
 * A NameNode's mechanisms over a real store in a temporary directory, wired
 * as in production (assembleNameNode), with a hand-driven clock and
 * `nodes` DataNodes registered (dn-1 … dn-N; the lower the number, the more
 * free space, unless `zones` say otherwise).
 */
export async function testNameNode(
  options: { nodes?: number; zones?: string[]; free?: (i: number) => number; config?: Partial<NameNodeConfig>; startMs?: number } = {},
) {
  const { store } = await openTestStore();
  const clock = { now: options.startMs ?? 1_000_000 };
  const now = () => clock.now;
  const config = nameNodeConfigSchema.parse({ safeModeThreshold: 0, ...options.config });
  const parts = assembleNameNode(store, config, pino({ level: "silent" }), now);
  const count = options.nodes ?? 4;
  for (let i = 1; i <= count; i++) {
    const free = options.free?.(i) ?? 1e9 - i * 1000;
    await parts.datanodes.register(`dn-${i}`, `http://127.0.0.1:${i}`, 1e9, free, options.zones?.[i - 1] ?? "");
  }
  /** Heartbeats from the given nodes, keeping them live as the clock moves. */
  const beat = (...ids: string[]) => {
    for (const id of ids) parts.datanodes.heartbeat(id, { capacityBytes: 1e9, freeBytes: 1e9, usedBytes: 0, chunkCount: 0 });
  };
  return { ...parts, clock, config, beat };
}
