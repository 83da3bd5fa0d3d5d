import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { ClientService } from "@trainfs/proto";
import { TrainfsError } from "@trainfs/common";

/**
 * Client calls that stay allowed in an operator's safe mode although they
 * are not read-only: they change no file (a lease kept alive, a write given
 * up, a replica suspected).
 */
const ALLOWED = new Set(["RenewLease", "AbandonFile", "ReportBadChunks"]);

/** Whether an operator's safe mode refuses this method: the client service's changes, decided by the proto's idempotency. */
export function refusedInSafeMode(method: DescMethod): boolean {
  return method.parent.typeName === ClientService.typeName && method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS && !ALLOWED.has(method.name);
}

/**
 * Refuses a namespace change while an operator holds the NameNode in safe
 * mode (as HDFS's SafeModeException). Checked after the caller's access, so
 * a caller without rights learns nothing of the NameNode's state.
 */
export function checkSafeMode(method: DescMethod, manual: boolean): void {
  if (manual && refusedInSafeMode(method)) {
    throw new TrainfsError(
      "failed_precondition",
      `the NameNode is in safe mode, entered by an operator: the namespace is read-only until one leaves it (trainfs admin safemode leave); ${method.name} refused`,
    );
  }
}
