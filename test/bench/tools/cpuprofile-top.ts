/**
 * Top self-time functions of V8 .cpuprofile files (as written by `node --cpu-prof`, e.g.
 * a bench run with BENCH_STARLING_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof").
 *
 *   node dist/test/bench/tools/cpuprofile-top.js [--top=N] [--by=function|file] FILE...
 *
 * Self time of a function = the sum of the sampling intervals (timeDeltas) of the samples
 * whose leaf frame is that function; shown in ms and as a share of the profile.
 */
import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  if (path.startsWith('node:')) return path;
  return relative(process.cwd(), path);
}

function summarize(file: string, top: number, by: 'function' | 'file'): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    if (dt <= 0) continue;
    const f = byId.get(p.samples[i]!)!.callFrame;
    if (f.functionName === '(idle)') idle += dt;
    const url = shortUrl(f.url);
    const key = by === 'file' ? url || `(${f.functionName || 'native'})` : `${f.functionName || '(anonymous)'}  ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  const out = [`${basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, ${(((total - idle) / total) * 100).toFixed(0)}% busy`];
  for (const [k, us] of rows) out.push(`  ${(us / 1000).toFixed(0).padStart(7)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  return out.join('\n');
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
const by = args.includes('--by=file') ? 'file' : 'function';
const files = args.filter((a) => !a.startsWith('--'));
if (!files.length) {
  console.error('usage: cpuprofile-top [--top=N] [--by=function|file] FILE.cpuprofile...');
  process.exit(2);
}
for (const f of files) console.log(summarize(f, top, by) + '\n');
