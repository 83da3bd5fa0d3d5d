import { createServer } from "node:net";

// Child process for the loopback TCP baseline: counts bytes, says when all arrived.
const expected = Number(process.argv[2]);
let received = 0;
const server = createServer((socket) => {
  socket.on("data", (d) => {
    received += d.length;
    if (received >= expected) process.send?.({ done: true });
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
});
