// Bundles Leaflet and the viewer into src/iadsim/web/static/ (viewer.js, viewer.css, index.html).
// The output is committed and shipped in the Python package, so users need neither npm nor network.
import { build } from "esbuild";
import { copyFile, mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "iadsim", "web", "static");

await mkdir(out, { recursive: true });
// Only our three files live in static/: clear stale ones (e.g. from an older build).
for (const name of await readdir(out)) {
  if (!["viewer.js", "viewer.css", "index.html"].includes(name)) {
    await rm(join(out, name), { recursive: true, force: true });
  }
}

await build({
  entryPoints: { viewer: join(here, "src", "viewer.js") },
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outdir: out,
  sourcemap: false,
  // Keep Leaflet's licence header (BSD-2-Clause asks for it in redistributed builds).
  legalComments: "eof",
  // Leaflet's CSS refers to PNGs for default markers and the layers control; the viewer uses
  // neither, so those url()s are dropped rather than bundled or left pointing at missing files.
  loader: { ".png": "empty", ".svg": "empty" },
  logLevel: "info",
});
await copyFile(join(here, "src", "index.html"), join(out, "index.html"));
console.log(`built into ${out}`);
