// `npm start`: build once if needed, then run the embedded runtime in this same process.
// package.json runs it with `exec`, so npm's child is this Node process itself (no shell between them):
// the SIGTERM or SIGINT a process manager sends to `npm start` is forwarded by npm straight to the server,
// which closes clients with 1012, flushes the store and exits 0 (lib/server/embedded/main.ts).
import "./ensure-build.mjs";

process.env.NODE_ENV = "production";
await import("../lib/server/embedded/main.ts");
