// Builds the playground (playground/src) into playground/dist, which the latchkey binary embeds.
// `--check` builds in memory and fails when the committed files differ (scripts/test-browser).
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = join(root, "playground", "src");
const dist = join(root, "playground", "dist");

const result = await esbuild.build({
  entryPoints: [join(src, "app.js")],
  bundle: true,
  write: false,
  format: "iife",
  platform: "browser",
  target: "chrome120",
  minify: true,
  legalComments: "none",
  nodePaths: [join(root, "e2e", "node_modules")],
  logLevel: "error",
});
const files = {
  "app.js": result.outputFiles[0].text,
  "index.html": readFileSync(join(src, "index.html"), "utf8"),
};

if (process.argv.includes("--check")) {
  const stale = Object.entries(files).filter(([name, text]) => {
    try {
      return readFileSync(join(dist, name), "utf8") !== text;
    } catch {
      return true;
    }
  });
  for (const [name] of stale) console.error(`playground/dist/${name} differs from its build`);
  process.exit(stale.length === 0 ? 0 : 1);
}
mkdirSync(dist, { recursive: true });
for (const [name, text] of Object.entries(files)) writeFileSync(join(dist, name), text);
console.log(`wrote playground/dist (app.js ${files["app.js"].length} bytes)`);
