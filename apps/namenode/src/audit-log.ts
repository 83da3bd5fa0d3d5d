import { join } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { appendStream, callerNameKey, clientAddressKey, codeName, currentRequestId, toConnectError } from "@trainfs/common";

/** One line of the audit log (as HDFS's hdfs-audit.log: allowed, ugi, ip, cmd, src, dst). */
export interface AuditEntry {
  time: string;
  /** The caller's network address. */
  client: string;
  /** The token's name (`rw:<name>:<token>`), a fingerprint for an unnamed token, or "anonymous"; never the token. */
  user: string;
  op: string;
  path: string;
  dst?: string;
  /** `ok` or the refusal's code, spelled as metrics and the CLI spell it (`not_found`, `permission_denied`). */
  result: string;
  reqId?: string;
}

type Message = Record<string, unknown>;

interface Operation {
  op: string;
  items: (m: Message) => Array<{ path: string; dst?: string }>;
  /** A batched call: each item has an outcome of its own in the response's `results`. */
  batch?: boolean;
}

/** A batched call (PutFiles, GetFiles, ...): a line per item of its `files`. */
const eachFile = (op: string): Operation => ({ op, batch: true, items: (m) => (m.files as Message[]).map((f) => ({ path: f.path as string })) });

/**
 * The namespace operations audited, by RPC: the operation's name and the
 * paths it names. Batches give one line per item. Calls a write makes on
 * its way (AddChunk, RenewLease, ReplaceChain) and the status polls are
 * not namespace operations and are left out, as HDFS leaves them.
 */
const OPERATIONS: Record<string, Operation> = {
  PutFile: { op: "create", items: (m) => [{ path: m.path as string }] },
  PutFiles: eachFile("create"),
  ConfirmFile: { op: "confirm", items: (m) => [{ path: m.path as string }] },
  ConfirmFiles: eachFile("confirm"),
  AbandonFile: { op: "abandon", items: (m) => [{ path: m.path as string }] },
  GetFile: { op: "open", items: (m) => [{ path: m.path as string }] },
  GetFiles: eachFile("open"),
  List: { op: "list", items: (m) => [{ path: m.path as string }] },
  Stat: { op: "stat", items: (m) => [{ path: m.path as string }] },
  Mkdir: { op: "mkdir", items: (m) => [{ path: m.path as string }] },
  Rename: { op: "rename", items: (m) => [{ path: m.source as string, dst: m.destination as string }] },
  SetReplication: { op: "setReplication", items: (m) => [{ path: m.path as string }] },
  ContentSummary: { op: "contentSummary", items: (m) => [{ path: m.path as string }] },
  DeleteFile: { op: "delete", items: (m) => [{ path: m.path as string }] },
  DeleteFiles: eachFile("delete"),
  Fsck: { op: "fsck", items: (m) => [{ path: m.path as string }] },
  DecommissionDataNode: { op: "decommission", items: (m) => [{ path: m.datanode as string }] },
  RecommissionDataNode: { op: "recommission", items: (m) => [{ path: m.datanode as string }] },
  StartBalancer: { op: "startBalancer", items: () => [{ path: "" }] },
  StopBalancer: { op: "stopBalancer", items: () => [{ path: "" }] },
};

/** Longest path written per line: a hostile client must not make one line megabytes long. */
const MAX_FIELD = 4096;

/**
 * The NameNode's audit log: one JSON line per namespace operation, to a file
 * of its own (appended, never rotated by the NameNode: rotate with
 * logrotate's copytruncate or by moving it and restarting), to stdout, or
 * nowhere. It is written after each call ends, refused ones included.
 */
export class AuditLog {
  private constructor(private readonly out: { write(line: string): void; flushSync?(): void; end?(): void }, readonly target: string) {}

  /** From the `auditLog` setting: a file (default `<dataDir>/audit.log`), `-` for stdout, `off` for none. */
  static open(setting: string | undefined, dataDir: string): AuditLog | undefined {
    if (setting === "off") return undefined;
    if (setting === "-") return new AuditLog(process.stdout, "stdout");
    const file = setting ?? join(dataDir, "audit.log");
    return new AuditLog(appendStream(file), file);
  }

  /** An in-memory log, for tests. */
  static toLines(lines: string[]): AuditLog {
    return new AuditLog({ write: (line) => void lines.push(line) }, "memory");
  }

  write(entry: AuditEntry): void {
    this.out.write(`${JSON.stringify(entry)}\n`);
  }

  close(): void {
    if (this.out === process.stdout) return;
    try {
      this.out.flushSync?.();
    } catch {
      // Nothing buffered, or the file is gone: nothing more to save.
    }
    this.out.end?.();
  }

  /** Writes a line for every audited call once it ends, with its outcome. */
  interceptor(now: () => number = Date.now): Interceptor {
    return (next) => async (req) => {
      const operation = OPERATIONS[req.method.name];
      if (!operation || req.stream) return next(req);
      const base = () => ({
        time: new Date(now()).toISOString(),
        client: req.contextValues.get(clientAddressKey),
        user: req.contextValues.get(callerNameKey) || "unknown",
        op: operation.op,
        ...(currentRequestId() ? { reqId: currentRequestId() } : {}),
      });
      const items = () => {
        try {
          return operation.items(req.message as unknown as Message).map((i) => ({
            path: i.path.slice(0, MAX_FIELD),
            ...(i.dst !== undefined ? { dst: i.dst.slice(0, MAX_FIELD) } : {}),
          }));
        } catch {
          return [{ path: "" }];
        }
      };
      try {
        const res = await next(req);
        const results = (res.message as unknown as { results?: Array<{ code: number }> }).results;
        items().forEach((item, i) => this.write({ ...base(), ...item, result: operation.batch && results?.[i]?.code ? codeName(results[i]!.code) : "ok" }));
        return res;
      } catch (err) {
        const result = codeName(toConnectError(err).code);
        for (const item of items()) this.write({ ...base(), ...item, result });
        throw err;
      }
    };
  }
}
