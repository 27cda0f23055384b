// Builds the client into a directory (default dist/): src/main.ts and its imports bundled by
// esbuild into app.js (readable, not minified: it is an example), plus index.html and app.css
// copied as they are. The output depends only on the sources and the pinned esbuild, so
// build.sh --check can compare it with the committed dist/.
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const out = resolve(process.argv[2] ?? "dist");
process.chdir(dirname(fileURLToPath(import.meta.url))); // paths in the bundle's comments are relative to web/

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  charset: "utf8",
  legalComments: "none",
  outfile: join(out, "app.js"),
  banner: { js: "// Built from web/src by web/build.mjs (esbuild); edit the sources, not this file." },
  logLevel: "warning",
});
for (const f of ["index.html", "app.css"]) await copyFile(join("src", f), join(out, f));
