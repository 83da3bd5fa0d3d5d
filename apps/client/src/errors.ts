import { TrainfsError, errorMessage, isFailoverExhausted, toTrainfsError, type ErrorCode } from "@trainfs/core";

/**
 * Exit statuses, so a script can tell "not found" from "cluster down"
 * (documented in docs/cli.md). Every other failure is 1.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  permission: 4,
  unavailable: 5,
  dataLoss: 6,
  /** Ctrl-C, as shells report a SIGINT. */
  interrupted: 130,
} as const;

export function exitCodeOf(code: ErrorCode): number {
  switch (code) {
    case "not_found":
      return EXIT.notFound;
    case "permission_denied":
    case "unauthenticated":
      return EXIT.permission;
    case "unavailable":
    case "deadline_exceeded":
      return EXIT.unavailable;
    case "data_loss":
      return EXIT.dataLoss;
    case "canceled":
      return EXIT.interrupted;
    default:
      return EXIT.failed;
  }
}

/** Where the NameNode address came from, for messages. */
export interface NameNodeOrigin {
  url: string;
  from: "--namenode" | "TRAINFS_NAMENODE" | "the default";
}

/**
 * A failure in the CLI's words: what went wrong and the fix, naming flags
 * and verbs (not SDK options or RPCs), with the code. Connection failures
 * are recognised from the cause chain's Node error codes.
 */
export function describeError(err: unknown, nn: NameNodeOrigin, verb?: string): TrainfsError {
  const e = toTrainfsError(err);
  const fix = "set --namenode or TRAINFS_NAMENODE to the NameNode's address (default http://127.0.0.1:9870)";
  // With several NameNodes the SDK's failover already says what each one answered.
  if (isFailoverExhausted(e.cause)) {
    return again(e, "unavailable", `${e.message} (from ${nn.from}): is one of them running and active? Check the list, or ${fix}`);
  }
  if (/^the connection to NameNode .* under way/.test(e.message)) return e;
  const where = `the NameNode at ${nn.url} (from ${nn.from})`;
  const sys = causeCodes(err);
  const text = causeMessages(err).join(" ");
  const has = (...codes: string[]) => codes.some((c) => sys.includes(c));
  if (has("ECONNREFUSED")) return again(e, "unavailable", `cannot connect to ${where}: connection refused. Is it running? If it is elsewhere, ${fix}`);
  if (has("ENOTFOUND", "EAI_AGAIN")) return again(e, "unavailable", `cannot resolve the host of ${where}: ${fix}`);
  if (has("EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT")) return again(e, "unavailable", `cannot reach ${where}: the host does not answer; check the address and the network`);
  if (has("ERR_SSL_WRONG_VERSION_NUMBER") || /wrong version number|packet length too long/i.test(text)) {
    return again(e, "unavailable", `${nn.url} (from ${nn.from}) speaks plain HTTP, not TLS: use ${nn.url.replace(/^https:/, "http:")}`);
  }
  if (nn.url.startsWith("http:") && (has("ECONNRESET", "HPE_INVALID_CONSTANT", "ERR_HTTP2_ERROR", "ERR_HTTP2_SESSION_ERROR") || /socket hang up|Parse Error|protocol error|http\/2 stream closed|NGHTTP2/i.test(text))) {
    return again(e, "unavailable", `${nn.url} (from ${nn.from}) did not answer as a NameNode over plain HTTP: if this port speaks TLS, use ${nn.url.replace(/^http:/, "https:")} (and --ca-file for a private CA); otherwise it is not a TrainFS NameNode`);
  }
  if (/SSL routines|alert/i.test(text) && nn.url.startsWith("https:")) {
    const why = /no application protocol/.test(text) ? "it does not offer HTTP/2 over TLS, so it is not a TrainFS NameNode" : (text.match(/SSL routines:[^:]*:([^:]+)/)?.[1] ?? "handshake failed");
    return again(e, "unavailable", `the TLS handshake with ${nn.url} (from ${nn.from}) failed: ${why}; ${fix}`);
  }
  if (/^HTTP \d{3}\b/.test(e.message) || (e.code === "unimplemented" && /HTTP/.test(e.message))) {
    return again(
      e,
      "unavailable",
      `${nn.url} (from ${nn.from}) is not a TrainFS NameNode (it answered a NameNode call with ${e.message.match(/HTTP \d{3}/)?.[0] ?? e.message}): is it a DataNode's port? ${fix}`,
    );
  }
  let message = e.message
    .replace(/ \(SDK: the `\w+` option\)/, "")
    .replace(/\(pass overwrite to replace it\)/, "(use -f to replace it)");
  if (e.code === "permission_denied" && /read-only/.test(message)) {
    message = "the token is read-only and this command changes the file system: use a read-write token (--token-file, TRAINFS_TOKEN_FILE or TRAINFS_TOKEN)";
  } else if (e.code === "unauthenticated" && /not valid/.test(message)) {
    message = "the API token is not valid for this cluster: check --token, --token-file, TRAINFS_TOKEN or TRAINFS_TOKEN_FILE";
  } else if (e.code === "already_exists" && !/use -f/.test(message) && !/local file/.test(message)) {
    if (verb === "mkdir") message = `${message} (mkdir -p accepts an existing directory)`;
    else if (verb && ["put", "copyFromLocal", "cp", "mv"].includes(verb)) message = `${message} (use -f to replace a file)`;
  } else if (/needs (at least )?\d+ live DataNodes?( \(minWriteReplicas\))?, but \d+ (is|are) live/.test(message)) {
    message = `${message}: start more DataNodes or ask for fewer replicas with --replication`;
  }
  return message === e.message ? e : again(e, e.code, message);
}

function again(e: TrainfsError, code: ErrorCode, message: string): TrainfsError {
  const out = new TrainfsError(code, message, { cause: e });
  if (e.stack) out.stack = `${out.name}: ${message}\ncaused by ${e.stack}`;
  return out;
}

/** Node's error codes (ECONNREFUSED, ...) anywhere in the cause chain, including AggregateErrors. */
function causeCodes(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== "object" || depth > 8) return [];
  const o = err as { code?: unknown; cause?: unknown; errors?: unknown[] };
  return [
    ...(typeof o.code === "string" ? [o.code] : []),
    ...causeCodes(o.cause, depth + 1),
    ...(Array.isArray(o.errors) ? o.errors.flatMap((x) => causeCodes(x, depth + 1)) : []),
  ];
}

function causeMessages(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== "object" || depth > 8) return [];
  const o = err as { cause?: unknown };
  return [errorMessage(err), ...causeMessages(o.cause, depth + 1)];
}
