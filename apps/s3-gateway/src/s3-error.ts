import { TrainfsError } from "@trainfs/common";

/** S3's error codes this gateway answers, with their HTTP status. */
export const S3_ERRORS = {
  AccessDenied: 403,
  BadDigest: 400,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MalformedPOSTRequest: 400,
  MaxPostPreDataLengthExceeded: 400,
  InvalidPolicyDocument: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  OperationAborted: 409,
  PreconditionFailed: 412,
  RequestTimeout: 400,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  AuthorizationHeaderMalformed: 400,
  XAmzContentSHA256Mismatch: 400,
  SlowDown: 503,
} as const;

export type S3ErrorCode = keyof typeof S3_ERRORS;

/** An S3 error: its code, its HTTP status, and a message that says why. */
export class S3Error extends Error {
  readonly status: number;
  constructor(
    readonly code: S3ErrorCode,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
    this.status = S3_ERRORS[code];
  }
}

/** A TrainFS failure as S3 says it; `what` names the object or bucket for NotFound. */
export function toS3Error(err: unknown, notFound: S3ErrorCode = "NoSuchKey"): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof TrainfsError) {
    switch (err.code) {
      case "not_found":
        return new S3Error(notFound, err.message);
      case "invalid_argument":
      case "already_exists":
      case "failed_precondition":
        return new S3Error("InvalidArgument", err.message);
      case "permission_denied":
      case "unauthenticated":
        return new S3Error("AccessDenied", `the NameNode refused the gateway's token: ${err.message}`);
      case "aborted":
        return new S3Error("OperationAborted", `${err.message}; try again`);
      case "unavailable":
      case "resource_exhausted":
      case "deadline_exceeded":
        return new S3Error("ServiceUnavailable", err.message);
      default:
        return new S3Error("InternalError", err.message);
    }
  }
  return new S3Error("InternalError", err instanceof Error ? err.message : String(err));
}
