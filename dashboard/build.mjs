// Bundles the dashboard into dist/dashboard/: one JS and one CSS file with content-hashed
// names (cached for good by the gateway) and an index.html naming them (never cached).
// Type checking is tsc's (dashboard/tsconfig.json); esbuild only strips and bundles.
// Everything is local: no CDN, no font or script fetched from elsewhere.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'dashboard');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(here, 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`dashboard build: expected one .js and one .css, got ${outputs.join(', ')}`);

// relative asset paths: the page works at /dashboard/ on the API port and on its own port
writeFileSync(
  join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Starling dashboard</title>
<link rel="stylesheet" href="assets/${css}">
</head>
<body>
<div id="app"></div>
<noscript>The Starling dashboard needs JavaScript.</noscript>
<script type="module" src="assets/${js}"></script>
</body>
</html>
`,
);
