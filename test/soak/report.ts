/** The soak's summary as printed: the run, its numbers, each check. */
import type { SoakReport } from './run.js';

export function formatReport(r: SoakReport): string {
  const lines = [`soak ${r.ok ? 'PASSED' : 'FAILED'}: ${r.options.clients} clients, ${r.options.durationMs / 1000} s, seed ${r.options.seed}, ${r.options.publishRate} publishes/s`];
  for (const [k, v] of Object.entries(r.numbers)) lines.push(`  ${k}: ${v}`);
  for (const c of r.checks) lines.push(`  [${c.ok ? 'ok' : 'FAIL'}] ${c.name}: ${c.detail}`);
  return lines.join('\n');
}
