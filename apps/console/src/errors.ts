/**
 * Errors in the browser's words: what happened and what to do, not the RPC's
 * internals. Every message the console shows goes through here.
 */
export interface Described {
  /** One sentence a person can act on. */
  text: string;
  /** The NameNode could not be reached at all (network), as opposed to an answer refusing. */
  unreachable: boolean;
  /** The call needs a token and none (or a wrong one) was given. */
  needsToken: boolean;
}

/** A failed call's code and message, from a TrainfsError or anything thrown. */
function parts(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e?.code === "string" ? e.code : e?.name === "AbortError" ? "cancelled" : "";
  const message = typeof e?.message === "string" ? e.message : String(err);
  return { code, message };
}

const NETWORK = /failed to fetch|networkerror|network error|load failed|fetch failed|err_connection|connection refused/i;

/**
 * `action` names what was being done ("deleting /x"), so that a refusal says
 * which action needs more rights.
 */
export function describeError(err: unknown, action?: string, hasToken = true): Described {
  const { code, message } = parts(err);
  const doing = action ? ` ${action}` : "";
  // The browser's own words for a connection that failed; whatever code the SDK gave it (Connect maps a fetch's TypeError to unknown).
  if (NETWORK.test(message)) {
    return { text: `The NameNode cannot be reached: the browser could not connect to it${action ? ` while ${action}` : ""}. Check that it runs and that this page's address is its own.`, unreachable: true, needsToken: false };
  }
  if (code === "unauthenticated") {
    return hasToken
      ? { text: "The API token in the field at the top of the page is not valid for this cluster: paste a token the NameNode knows (its apiTokens setting).", unreachable: false, needsToken: true }
      : { text: "This NameNode needs an API token: paste one in the API token field at the top right of the page.", unreachable: false, needsToken: true };
  }
  if (code === "permission_denied" && /read-only/.test(message)) {
    return { text: `Your token is read-only: ${action ?? "this"} needs a read-write token.`, unreachable: false, needsToken: false };
  }
  if (code === "cancelled" || (code === "aborted" && /abort/i.test(message))) return { text: `Cancelled${doing}.`, unreachable: false, needsToken: false };
  const sentence = message.charAt(0).toUpperCase() + message.slice(1);
  return { text: action ? `Could not finish ${action}: ${sentence}` : sentence, unreachable: false, needsToken: false };
}
