// The soak's command line: `--faults` takes `all` or a comma list of known fault kinds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAULT_KINDS } from '../soak/faults/kinds.js';
import { parseArgs, UsageError } from '../soak/options.js';

test('--faults=all selects every fault kind, in schedule order', () => {
  assert.deepEqual(parseArgs(['--faults=all']).faultKinds, [...FAULT_KINDS]);
});

test('--faults takes a comma list, and other options beside it', () => {
  const o = parseArgs(['--faults=nats-kill,node-stop', '--duration=30']);
  assert.deepEqual(o.faultKinds, ['nats-kill', 'node-stop']);
  assert.equal(o.durationMs, 30_000);
});

test('no --faults: no faults', () => {
  assert.equal(parseArgs([]).faultKinds, undefined);
});

test('an unknown fault kind is a usage error naming the known ones', () => {
  assert.throws(() => parseArgs(['--faults=node-kill,cpu-burn']), (err: unknown) => err instanceof UsageError && /cpu-burn/.test(err.message) && /gateway-kill/.test(err.message));
});

test('--help lists --faults', () => {
  assert.throws(() => parseArgs(['--help']), (err: unknown) => err instanceof UsageError && /--faults/.test(err.message));
});
