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

// Only the Earshot server talks to the store: it listens on a Unix socket in a directory only this
// user can enter (see local-dynamo.ts), and refuses what only a browser would send. dynalite answers
// any Origin with `Access-Control-Allow-Origin: *`; here such a request never reaches it.
const dynaliteHandlers = server.listeners("request");
server.removeAllListeners("request");
server.on("request", (req, res) => {
  if (req.headers.origin !== undefined || req.method !== "POST") {
    req.resume();
    const body = JSON.stringify({ __type: "AccessDeniedException", message: "The embedded store serves the Earshot server only." });
    res.writeHead(403, { "content-type": "application/x-amz-json-1.0", "content-length": Buffer.byteLength(body), connection: "close" });
    res.end(body);
    return;
  }
  for (const handler of dynaliteHandlers) handler.call(server, req, res);
});

server.on("error", (error) => parentPort.postMessage({ type: "error", message: String(error?.message ?? error) }));
server.listen(workerData.socketPath, () => parentPort.postMessage({ type: "listening", socketPath: workerData.socketPath }));
parentPort.on("message", (msg) => {
  if (msg?.type !== "close") return;
  server.closeAllConnections?.();
  server.close(() => parentPort.postMessage({ type: "closed" }));
});
