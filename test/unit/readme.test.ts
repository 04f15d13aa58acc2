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
