#!/usr/bin/env node
// Test runner behind `npm test` (which builds first). Runs every compiled dist/test/**/*.test.js
// with node's own test runner. Node 20's --test does not expand globs, so we list files here.
//
//   node test/run.mjs                  all tests
//   node test/run.mjs cluster api      only files whose path contains "cluster" or "api"
//   node test/run.mjs --test-name-pattern=foo unit   arguments starting with "-" go to node
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const distTest = join(root, 'dist', 'test');
// Not test suites: benchmarks and the shared harness.
const skipDirs = new Set([join(distTest, 'bench'), join(distTest, 'support')]);

function fail(msg) {
  console.error(`test/run.mjs: ${msg}`);
  process.exit(1);
}

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skipDirs.has(full)) out.push(...findTests(full));
    } else if (entry.isFile() && entry.name.endsWith('.test.js')) {
      out.push(full);
    }
  }
  return out;
}

const args = process.argv.slice(2);
const nodeFlags = args.filter((a) => a.startsWith('-'));
const filters = args.filter((a) => !a.startsWith('-'));

if (!existsSync(distTest)) fail(`${relative(root, distTest)} does not exist; build first (npm run build)`);

const all = findTests(distTest).sort();
// tsc never deletes outputs: skip compiled tests whose .ts source is gone.
const current = all.filter((f) => existsSync(join(root, relative(join(root, 'dist'), f)).replace(/\.js$/, '.ts')));
for (const f of all) if (!current.includes(f)) console.error(`test/run.mjs: skipping stale ${relative(root, f)} (no .ts source)`);

const files = filters.length
  ? current.filter((f) => filters.some((flt) => relative(root, f).split(sep).join('/').includes(flt)))
  : current;

if (files.length === 0) {
  fail(filters.length ? `no test files match ${filters.map((f) => JSON.stringify(f)).join(', ')}` : `no test files under ${relative(root, distTest)}`);
}

console.error(`test/run.mjs: ${files.length} test file(s)`);
// Spec output for people on stdout; a TAP copy on the side, whose closing "# pass N" /
// "# fail N" lines are echoed at the end, so the summary reads the same in either format.
const tapDir = mkdtempSync(join(tmpdir(), 'starling-test-'));
const tapFile = join(tapDir, 'report.tap');
const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...nodeFlags,
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
// Pass termination on, so test files get to clean up their servers.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('error', (err) => fail(`cannot run node: ${err.message}`));
child.on('exit', (code, signal) => {
  let summary = [];
  try {
    summary = readFileSync(tapFile, 'utf8')
      .split('\n')
      .filter((l) => /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(l));
  } catch {
    /* killed before writing anything */
  }
  rmSync(tapDir, { recursive: true, force: true });
  if (summary.length) console.log(summary.join('\n'));
  if (code === 0 && summary.includes('# tests 0')) fail('no tests ran');
  process.exit(code ?? 128 + (constants.signals[signal] ?? 1));
});
