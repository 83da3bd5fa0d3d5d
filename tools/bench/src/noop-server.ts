import { ClientService } from "@trainfs/proto";
import { createLogger, startRpcServer } from "@trainfs/common";

// Child process for the no-op unary baseline: the same server stack as the
// NameNode (HTTP/2, limits, error mapping), answering Stat with nothing.
const server = await startRpcServer({
  host: "127.0.0.1",
  port: 0,
  logger: createLogger("noop", "silent"),
  routes: (router) => router.service(ClientService, { stat: async () => ({}) }),
});
process.send?.({ port: server.port });
