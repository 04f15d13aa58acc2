import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { markdownTable } from '../../shared/config.js';

const root = new URL('../../../', import.meta.url);

test('README carries the configuration table that --help is built from', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  assert.ok(readme.includes(markdownTable()), 'README configuration table is stale: paste markdownTable() from shared/config.ts');
});

test('.ci/run runs the README test command', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const ci = readFileSync(new URL('.ci/run', root), 'utf8');
  const cmd = /```sh\n(apt-get update[^\n]+)\n```/.exec(readme)?.[1];
  assert.ok(cmd, 'README has no apt-get test command');
  assert.ok(ci.includes(cmd!), `.ci/run does not run: ${cmd}`);
});

test("README's Limits table names real settings with their defaults", async () => {
  const { optionSpecs } = await import('../../shared/config.js');
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const section = readme.slice(readme.indexOf('### Limits'), readme.indexOf('\n- **Users**'));
  const rows = [...section.matchAll(/^\| `(STARLING_[A-Z0-9_]+)` \| ([^|]+) \|/gm)];
  assert.ok(rows.length > 10, 'a Limits table');
  const specs = new Map(optionSpecs().map(([, s]) => [s.env, s]));
  for (const [, env, def] of rows) {
    const spec = specs.get(env!);
    assert.ok(spec, `${env} is not a setting`);
    const want = spec.default === undefined ? 'unset' : `\`${String(spec.default)}\``;
    assert.ok(def!.trim().startsWith(want), `${env}: README says ${def!.trim()}, the default is ${want}`);
  }
});
