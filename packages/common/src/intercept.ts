import type { Interceptor } from "@connectrpc/connect";

/**
 * Builds a server interceptor that sees how each call ends. `begin` runs when
 * a call starts and returns its `end`, called once: when a unary call returns
 * or fails, or when a streamed response has been sent or failed part-way.
 * `end` may return an error to throw instead of the one it was given.
 */
export function onCallEnd(begin: (method: string) => (err?: unknown) => unknown): Interceptor {
  return (next) => async (req) => {
    const end = begin(req.method.name);
    const fail = (err: unknown) => end(err) ?? err;
    try {
      const res = await next(req);
      if (!res.stream) {
        end();
        return res;
      }
      const source = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* source;
          } catch (err) {
            throw fail(err);
          }
          end();
        })(),
      };
    } catch (err) {
      throw fail(err);
    }
  };
}
