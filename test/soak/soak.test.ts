/**
 * The soak in the suite: one minute of a bounded population (1,200 clients) on a 3-node
 * cluster, then every end check of `npm run soak`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReport } from './report.js';
import { runSoak } from './run.js';

describe('soak (1 minute, 1,200 clients, 3 nodes)', () => {
  it('delivers what it acknowledged, leaks nothing, and its metrics add up', { timeout: 300_000 }, async (t) => {
    const report = await runSoak({ durationMs: 60_000, clients: 1200, publishRate: 150, seed: 15, log: (l) => t.diagnostic(l) });
    for (const line of formatReport(report).split('\n')) t.diagnostic(line);
    for (const c of report.checks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
  });
});
