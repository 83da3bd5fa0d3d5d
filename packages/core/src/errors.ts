import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The one error type of TrainFS. Every module throws it with a code; the RPC
 * edge maps it to a ConnectError with the matching Connect code, and the SDK
 * maps ConnectErrors back, so a caller sees the same code on both sides.
 */
export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "out_of_range"
  | "unavailable"
  | "data_loss"
  | "resource_exhausted"
  | "aborted"
  | "deadline_exceeded"
  | "canceled"
  | "unimplemented"
  | "permission_denied"
  | "unauthenticated"
  | "internal";

const toConnect: Record<ErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  out_of_range: Code.OutOfRange,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
  resource_exhausted: Code.ResourceExhausted,
  aborted: Code.Aborted,
  deadline_exceeded: Code.DeadlineExceeded,
  canceled: Code.Canceled,
  unimplemented: Code.Unimplemented,
  permission_denied: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  internal: Code.Internal,
};

const fromConnect = new Map<Code, ErrorCode>(
  Object.entries(toConnect).map(([k, v]) => [v, k as ErrorCode]),
);

export class TrainfsError extends Error {
  override readonly name = "TrainfsError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get connectCode(): Code {
    return toConnect[this.code];
  }
}

/** Maps any thrown value to a ConnectError; unknown errors become Internal. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof TrainfsError) {
    return new ConnectError(err.message, err.connectCode, undefined, undefined, err);
  }
  return ConnectError.from(err, Code.Internal);
}

/** Maps any thrown value to a TrainfsError, keeping the Connect code. */
export function toTrainfsError(err: unknown): TrainfsError {
  if (err instanceof TrainfsError) return err;
  const ce = ConnectError.from(err);
  const tls = certificateProblem(ce.cause);
  if (tls) {
    return new TrainfsError("unavailable", `cannot verify the server's TLS certificate (${tls}): trust its CA with --ca-file (SDK: the \`ca\` option)`, { cause: err });
  }
  return new TrainfsError(fromConnect.get(ce.code) ?? "internal", ce.rawMessage, { cause: err });
}

/** The error's message without Connect's "[code]" prefix. */
export function errorMessage(err: unknown): string {
  if (err instanceof ConnectError) return err.rawMessage;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Node's error codes for a peer certificate that cannot be trusted. */
const CERTIFICATE_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERR_TLS_CERT_ALTNAME_INVALID",
]);

function certificateProblem(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && CERTIFICATE_ERRORS.has(code) ? (cause as Error).message : undefined;
}
