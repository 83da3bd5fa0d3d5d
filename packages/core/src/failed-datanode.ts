import { ConnectError } from "@connectrpc/connect";

/**
 * Header (Connect) or error field (data transfer) through which an error
 * names the DataNode where it happened: a chain's writer learns which node
 * to leave out of the next chain. DataNodes expose it to browsers (CORS).
 */
export const FAILED_DATANODE_HEADER = "trainfs-failed-datanode";

/** The DataNode an error names as failed, if it names one. */
export function failedDataNodeOf(err: unknown): string | undefined {
  return err instanceof ConnectError ? err.metadata.get(FAILED_DATANODE_HEADER) ?? undefined : undefined;
}
