// Runs the embedded store (dynalite) on its own thread, so the DynamoDB protocol work
// does not share the event loop with the gateway and Next.js. Plain JS: loaded by a Worker as is.
import { parentPort, workerData } from "node:worker_threads";
import dynalite from "dynalite";

// The store keeps keys and values as Buffers; small ones would be slices of shared 8 KB pool slabs,
// and one live row pins its whole slab (RSS grew ~60 MB/min under churn). This thread allocates exactly.
Buffer.poolSize = 0;

const server = dynalite({ path: workerData.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
// The SDK keeps sockets alive; a server that drops idle ones races with reuse ("socket hang up").
server.keepAliveTimeout = 0;
server.on("error", (error) => parentPort.postMessage({ type: "error", message: String(error?.message ?? error) }));
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ type: "listening", port: server.address().port }));
parentPort.on("message", (msg) => {
  if (msg?.type !== "close") return;
  server.closeAllConnections?.();
  server.close(() => parentPort.postMessage({ type: "closed" }));
});
