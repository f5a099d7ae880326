// Builds the listener page's own assets (docs/BENCHMARKS.md "Listener page"): the page ships no React, so
// Next does not bundle its script. Run by next.config.ts before every `next build` (and the dev server), or
// by hand: `node scripts/build-listener.mjs`.
//
// Output: components/listener/page/assets.generated.js (git-ignored; its types are assets.generated.d.ts):
// - LISTENER_JS: components/listener/page/main.ts as one minified IIFE, inlined in the page;
// - LISTENER_CSS: Tailwind built from the page's own files only (same theme as app/globals.css), inlined;
// - MEDIA_ENTRY / MEDIA_FILES: the media module (WebRTC viewer + KVS SDK) as ES module chunks, served by
//   app/join/assets/[file]/route.ts and loaded with import() only when a mode needs the original audio.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { dirname, resolve, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import postcss from "postcss";
import tailwind from "@tailwindcss/postcss";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PAGE = resolve(ROOT, "components/listener/page");
const OUT = resolve(PAGE, "assets.generated.js");

/** Browser builds of packages whose default entry is Node's (Next's bundler does the same through `browser` fields). */
const browserShims = {
  name: "browser-shims",
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-providers$/ }, () => ({
      path: resolve(ROOT, "node_modules/@aws-sdk/credential-providers/dist-es/index.browser.js"),
    }));
    build.onResolve({ filter: /^events$/ }, () => ({ path: resolve(ROOT, "node_modules/next/dist/compiled/events/events.js") }));
    // The KVS SDK falls back to require("ws") where there is no WebSocket: never in a browser.
    build.onResolve({ filter: /^ws$/ }, () => ({ path: "ws", namespace: "empty" }));
    build.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "module.exports = undefined;" }));
  },
};

const common = {
  bundle: true,
  minify: true,
  write: false,
  platform: "browser",
  target: ["es2020", "safari15"],
  tsconfig: resolve(ROOT, "tsconfig.json"),
  // __dirname: Next's compiled `events` (an ncc bundle) reads it once, for nothing a browser uses.
  define: { "process.env.NODE_ENV": '"production"', "process.env.PACKAGE_VERSION": '""', global: "globalThis", __dirname: '"/"' },
  legalComments: "none",
  logLevel: "warning",
  absWorkingDir: ROOT,
};

async function buildScript() {
  const result = await esbuild.build({ ...common, entryPoints: [resolve(PAGE, "main.ts")], format: "iife", outfile: "listener.js", metafile: true });
  // Inline in a <script>: nothing in it may end the element.
  const text = result.outputFiles[0].text.replace(/<\/script/gi, "<\\/script");
  return { text, inputs: Object.keys(result.metafile.inputs) };
}

async function buildMedia() {
  const result = await esbuild.build({
    ...common,
    entryPoints: { media: resolve(PAGE, "media.ts") },
    format: "esm",
    splitting: true,
    outdir: resolve(ROOT, ".listener-media"),
    entryNames: "[name]-[hash]",
    chunkNames: "chunk-[hash]",
    plugins: [browserShims],
    metafile: true,
  });
  const files = {};
  let entry = "";
  for (const file of result.outputFiles) {
    const name = relative(resolve(ROOT, ".listener-media"), file.path);
    files[name] = file.text;
    if (name.startsWith("media-")) entry = name;
  }
  // What import() of the entry loads at once: the entry and its static imports, transitively (not the chunks
  // loaded later with import(), such as the cloud-only KVS resolution and its AWS SDK).
  const outputs = Object.fromEntries(Object.entries(result.metafile.outputs).map(([path, out]) => [relative(resolve(ROOT, ".listener-media"), resolve(ROOT, path)), out]));
  const preload = [];
  const visit = (name) => {
    if (preload.includes(name) || !outputs[name]) return;
    preload.push(name);
    for (const imp of outputs[name].imports) if (imp.kind === "import-statement") visit(relative(resolve(ROOT, ".listener-media"), resolve(ROOT, imp.path)));
  };
  visit(entry);
  const inputs = [...new Set(preload.flatMap((name) => Object.keys(outputs[name].inputs)))];
  return { entry, files, preload, inputs };
}

async function buildCss() {
  const globals = readFileSync(resolve(ROOT, "app/globals.css"), "utf8");
  const sources = ["classes.ts", "html.ts", "view.ts"].map((f) => `@source "./${f}";`).join("\n");
  const input = globals.replace(/@import\s+["']tailwindcss["'];/, `@import "tailwindcss" source(none);\n${sources}`);
  const result = await postcss([tailwind({ base: PAGE, optimize: { minify: true } })]).process(input, { from: resolve(PAGE, "listener.css") });
  return result.css;
}

/** The source files in the page's inline script and in what its media module loads at once (tests check what they pull in). */
export async function listenerBundleInputs() {
  const [script, media] = await Promise.all([buildScript(), buildMedia()]);
  return { script: script.inputs, media: media.inputs };
}

export async function buildListener() {
  const [script, css, media] = await Promise.all([buildScript(), buildCss(), buildMedia()]);
  const js = script.text;
  const source = [
    "// Generated by scripts/build-listener.mjs. Do not edit.",
    `export const LISTENER_JS = ${JSON.stringify(js)};`,
    `export const LISTENER_CSS = ${JSON.stringify(css)};`,
    `export const MEDIA_ENTRY = ${JSON.stringify(media.entry)};`,
    `export const MEDIA_FILES = ${JSON.stringify(media.files)};`,
    `export const MEDIA_PRELOAD = ${JSON.stringify(media.preload)};`,
    "",
  ].join("\n");
  if (existsSync(OUT) && readFileSync(OUT, "utf8") === source) return { js, css, media, changed: false };
  mkdirSync(dirname(OUT), { recursive: true });
  const tmp = `${OUT}.${process.pid}.tmp`;
  writeFileSync(tmp, source);
  renameSync(tmp, OUT);
  return { js, css, media, changed: true };
}

// No top-level await: next.config.ts loads this module with require().
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildListener().then(({ js, css, media }) => {
    const kb = (s) => `${(Buffer.byteLength(s) / 1024).toFixed(1)} KB (${(gzipSync(s, { level: 9 }).length / 1024).toFixed(1)} KB gzip)`;
    console.log(`listener page: script ${kb(js)}, css ${kb(css)}, media module ${Object.keys(media.files).length} files`);
  });
}
