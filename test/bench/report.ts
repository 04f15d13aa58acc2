/** Table, ratio lines, target PASS/FAIL and the JSON record of one bench run. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions, MetricSpec, Scenario, ScenarioResult } from './scenarios/index.js';

/** Whole-machine CPU during a scenario run, fractions of all cores (foreign: of one core). */
export interface MachineLoad {
  busy: number;
  idle: number;
  softirq: number;
  /** CPU used outside the bench's process tree, in cores; > ~0.1 skews the result. */
  foreign: number;
  foreignTop: { pid: number; comm: string; cpu: number }[];
}

export interface RunRecord {
  scenario: string;
  broker: string;
  result?: ScenarioResult;
  error?: string;
  wallMs: number;
  machine?: MachineLoad;
  /** 1, or more when a run disturbed by other processes was repeated. */
  attempts: number;
}

/** Other processes using more than this (cores) during a run make it "disturbed". */
export const DISTURBED = 0.15;

export const isDisturbed = (r: RunRecord): boolean => (r.machine?.foreign ?? 0) > DISTURBED;

export function describeForeign(m: MachineLoad): string {
  const top = m.foreignTop.filter((t) => t.cpu >= 0.02).map((t) => `${t.comm}[${t.pid}] ${Math.round(t.cpu * 100)}%`);
  return `other processes used ${Math.round(m.foreign * 100)}% of a core${top.length ? ` (${top.join(', ')})` : ''}`;
}

export interface Target {
  label: string;
  scenario: string;
  metric: string;
  /** Compare starling to this peer (ratio ≥ minRatio) … */
  peer?: string;
  /** … or to starling's own result of this scenario in the same run (cross-node vs same-node) … */
  baseline?: string;
  minRatio?: number;
  /** … or starling's absolute value (≤ max or ≥ min, or < max / > min when strict). */
  max?: number;
  min?: number;
  strict?: boolean;
  /** Decimals of an absolute value in the detail (default 3). */
  digits?: number;
}

/** The project's goals; a report, so FAIL never changes the exit code. */
export const TARGETS: Target[] = [
  { label: 'QoS 0 fan-in >= 1.0x mosquitto', scenario: 'qos0-fanin', metric: 'rate', peer: 'mosquitto', minRatio: 1.0 },
  { label: 'Fan-out >= 1.0x mosquitto', scenario: 'fanout', metric: 'rate', peer: 'mosquitto', minRatio: 1.0 },
  { label: 'QoS 1 fan-in >= 1.5x aedes', scenario: 'qos1-fanin', metric: 'rate', peer: 'aedes', minRatio: 1.5 },
  { label: 'Latency p99 <= 0.3 ms at 1000 msg/s', scenario: 'latency', metric: 'p99', max: 0.3 },
  { label: 'Memory <= 4 KB per idle connection (10,000 conns)', scenario: 'idle', metric: 'kbPerConn', max: 4 },
  { label: 'Connection rate >= 2x aedes', scenario: 'idle', metric: 'connRate', peer: 'aedes', minRatio: 2.0 },
  { label: 'Cross-node QoS 0 >= 0.7x same-node QoS 0 fan-in', scenario: 'xnode-qos0', metric: 'rate', baseline: 'qos0-fanin', minRatio: 0.7 },
  { label: 'Cross-node QoS 1 >= 0.7x same-node QoS 1 fan-in', scenario: 'xnode-qos1', metric: 'rate', baseline: 'qos1-fanin', minRatio: 0.7 },
  { label: 'Cross-node latency p99 < 5 ms at 1000 msg/s', scenario: 'xnode-latency', metric: 'p99', max: 5, strict: true },
  { label: 'API GET /clients page p99 < 50 ms (30,000 clients on 3 nodes; worst of pages 1, 150, 300)', scenario: 'api', metric: 'pageP99', max: 50, strict: true, digits: 2 },
  { label: 'API DELETE /clients/{id} (kick) p99 < 20 ms', scenario: 'api', metric: 'kickP99', max: 20, strict: true, digits: 2 },
  { label: 'API GET /api/v4/metrics p99 < 20 ms (3 nodes, 30,000 clients)', scenario: 'api', metric: 'metricsP99', max: 20, strict: true, digits: 2 },
  { label: 'API GET /api/v4/stats p99 < 20 ms (3 nodes, 30,000 clients)', scenario: 'api', metric: 'statsP99', max: 20, strict: true, digits: 2 },
  { label: 'API GET /api/v4/alarms p99 < 20 ms (3 nodes, 30,000 clients)', scenario: 'api', metric: 'alarmsP99', max: 20, strict: true, digits: 2 },
  { label: 'Gateway GET /status > 5,000 requests/s', scenario: 'api', metric: 'statusRps', min: 5000, strict: true, digits: 0 },
  { label: 'Gateway non-2xx answers under load (/status, /nodes) = 0', scenario: 'api', metric: 'non2xx', max: 0, digits: 0 },
  { label: 'Gateway GET /metrics scrape p99 < 50 ms (uncached: one RPC per node each; 30,000 clients on 3 nodes)', scenario: 'api', metric: 'scrapeP99', max: 50, strict: true, digits: 2 },
  { label: '10 /metrics scrapes/s (uncached) keep cross-node QoS 0 throughput >= 0.95x', scenario: 'xnode-scrape', metric: 'ratio', min: 0.95, digits: 3 },
  { label: 'Dashboard first load (index.html and its assets) < 300 KB gzip-compressed', scenario: 'dashboard', metric: 'firstLoadGzipKB', max: 300, strict: true, digits: 1 },
  { label: '50 open dashboards change cross-node QoS 0 throughput by < 5 %', scenario: 'dashboard', metric: 'change', max: 0.05, strict: true, digits: 3 },
  { label: '50 open dashboards cost each node <= 1 metrics.scrape per cache interval', scenario: 'dashboard', metric: 'scrapesPerInterval', max: 1, digits: 2 },
  { label: '50 open dashboards cost each node <= 1 nodes.get per cache interval', scenario: 'dashboard', metric: 'nodesGetsPerInterval', max: 1, digits: 2 },
  { label: 'Scale: a restarted node loads the route table (1,000,000 routes on 6 nodes) and listens in < 5 s', scenario: 'scale', metric: 'rejoinMs', max: 5000, strict: true, digits: 0 },
  { label: 'Scale: cross-node latency p99 < 5 ms at 1000 msg/s (100,000 clients, 1,000,000 routes)', scenario: 'scale', metric: 'xnodeP99', max: 5, strict: true, digits: 2 },
  { label: 'Scale: GET /clients page p99 < 50 ms (100,000 clients on 6 nodes; worst of first, middle, last page)', scenario: 'scale', metric: 'clientsPageP99', max: 50, strict: true, digits: 2 },
  { label: 'Scale: GET /routes pages through every route', scenario: 'scale', metric: 'routesSeenRatio', min: 1, digits: 3 },
  { label: 'QoS 0 fan-in with 10 matching rules (half republish) >= 0.7x without rules', scenario: 'rules-qos0', metric: 'ratio', min: 0.7, digits: 3 },
];

export interface TargetResult {
  label: string;
  status: 'PASS' | 'FAIL' | 'N/A';
  detail: string;
}

export interface Ratio {
  scenario: string;
  metric: string;
  base: string;
  /** A peer broker, or for a baseline ratio starling's result of scenario `baseline`. */
  peer: string;
  baseline?: string;
  ratio: number;
  better: 'higher' | 'lower';
}

const SUBJECT = 'starling';
const CALIBRATION = 'null';

function value(runs: RunRecord[], scenario: string, broker: string, metric: string): number | undefined {
  const v = runs.find((r) => r.scenario === scenario && r.broker === broker)?.result?.metrics[metric];
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

function fmt(v: number | undefined, spec?: Pick<MetricSpec, 'digits'>): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  const digits = spec?.digits ?? (Math.abs(v) >= 100 ? 0 : 2);
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const pct = (f: number | undefined) => (f === undefined || Number.isNaN(f) ? '-' : `${Math.round(f * 100)}%`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

/** Base broker of the ratio lines: Starling, or (when it was not run) the first broker. */
function baseOf(brokers: string[]): string | undefined {
  return brokers.includes(SUBJECT) ? SUBJECT : brokers.find((b) => b !== CALIBRATION);
}

export function computeRatios(scenarios: readonly Scenario[], brokers: string[], runs: RunRecord[]): Ratio[] {
  const base = baseOf(brokers);
  const out: Ratio[] = [];
  if (!base) return out;
  for (const s of scenarios) {
    for (const m of s.metrics.filter((m) => m.ratio)) {
      const b = value(runs, s.id, base, m.key);
      // Cross-node vs same-node: starling against its own result of the baseline scenario.
      const same = s.baseline ? value(runs, s.baseline, SUBJECT, m.key) : undefined;
      if (base === SUBJECT && b !== undefined && same) {
        out.push({ scenario: s.id, metric: m.key, base, peer: SUBJECT, baseline: s.baseline, ratio: b / same, better: m.better });
      }
      for (const peer of brokers.filter((p) => p !== base && p !== CALIBRATION)) {
        const p = value(runs, s.id, peer, m.key);
        if (b !== undefined && p !== undefined && p !== 0) out.push({ scenario: s.id, metric: m.key, base, peer, ratio: b / p, better: m.better });
      }
    }
  }
  return out;
}

export function evaluateTargets(runs: RunRecord[], scenariosRun: string[], opts: Pick<BenchOptions, 'idleConns' | 'apiConns'>): TargetResult[] {
  return TARGETS.map((t) => {
    if (!scenariosRun.includes(t.scenario)) return { label: t.label, status: 'N/A', detail: 'scenario not run' };
    const s = value(runs, t.scenario, SUBJECT, t.metric);
    if (s === undefined) return { label: t.label, status: 'N/A', detail: 'no starling result' };
    const rec = (b: string, scenario = t.scenario) => runs.find((r) => r.scenario === scenario && r.broker === b);
    const disturbed = [SUBJECT, ...(t.peer ? [t.peer] : [])].filter((b) => rec(b) && isDisturbed(rec(b)!));
    const caveat =
      (t.scenario === 'idle' && opts.idleConns !== 10000 ? ` (measured at ${opts.idleConns} conns)` : '') +
      (t.scenario === 'api' && opts.apiConns !== 30000 ? ` (measured at ${opts.apiConns} clients)` : '') +
      (disturbed.length ? ` (disturbed: ${disturbed.join(', ')})` : '');
    if (t.baseline) {
      const b = scenariosRun.includes(t.baseline) ? value(runs, t.baseline, SUBJECT, t.metric) : undefined;
      if (b === undefined || b === 0) return { label: t.label, status: 'N/A', detail: `needs ${t.baseline} in the same run (${fmt(s)} alone)` };
      const r = s / b;
      const baseRec = rec(SUBJECT, t.baseline);
      const disturbedBase = baseRec && isDisturbed(baseRec) ? ` (disturbed: ${t.baseline})` : '';
      return { label: t.label, status: r >= t.minRatio! ? 'PASS' : 'FAIL', detail: `${r.toFixed(2)}x (${fmt(s)} vs ${fmt(b)})${caveat}${disturbedBase}` };
    }
    if (t.peer) {
      const p = value(runs, t.scenario, t.peer, t.metric);
      if (p === undefined || p === 0) return { label: t.label, status: 'N/A', detail: `no ${t.peer} result` };
      const r = s / p;
      return { label: t.label, status: r >= t.minRatio! ? 'PASS' : 'FAIL', detail: `${r.toFixed(2)}x (${fmt(s)} vs ${fmt(p)})${caveat}` };
    }
    const ok = t.min !== undefined ? (t.strict ? s > t.min : s >= t.min) : t.strict ? s < t.max! : s <= t.max!;
    return { label: t.label, status: ok ? 'PASS' : 'FAIL', detail: `${fmt(s, { digits: t.digits ?? 3 })}${caveat}` };
  });
}

export function render(
  scenarios: readonly Scenario[],
  brokers: string[],
  runs: RunRecord[],
  ratios: Ratio[],
  targets: TargetResult[],
  labels: Record<string, string>,
  notes: string[],
): string {
  const out: string[] = [];
  const cols = brokers.map((b) => (b === CALIBRATION ? 'null relay*' : labels[b] ?? b));

  const rows: string[][] = [['Scenario', 'Metric', 'Unit', ...cols]];
  for (const s of scenarios) {
    s.metrics.forEach((m, i) => {
      rows.push([
        i === 0 ? s.title : '',
        m.label,
        m.unit,
        ...brokers.map((b) => {
          const rec = runs.find((r) => r.scenario === s.id && r.broker === b);
          if (!rec) return s.brokers && !s.brokers.includes(b) ? 'N/A' : '';
          if (rec.error) return 'ERROR';
          return fmt(rec.result!.metrics[m.key], m) + (isDisturbed(rec) ? '~' : '');
        }),
      ]);
    });
  }
  out.push(table(rows));
  out.push('* null relay = byte relay without MQTT routing: the load generator\'s ceiling, not a broker.');
  if (scenarios.some((s) => s.brokers && brokers.some((b) => !s.brokers!.includes(b)))) {
    out.push('N/A = scenario does not apply to that broker (cross-node: only Starling runs as a cluster here).');
  }
  if (runs.some(isDisturbed)) out.push(`~ = other processes used more than ${DISTURBED * 100}% of a core during that run: value skewed (see Warnings).`);

  // CPU beside each result: broker's share of a core, then each generator process's.
  // Cluster runs: every server-side process (node1, node2, nats, redis, gateway) separately.
  const cpuRows: string[][] = [['Scenario', 'CPU (% of one core)', '', ...cols]];
  for (const s of scenarios) {
    const procs = runs.find((x) => x.scenario === s.id && x.result?.procCpu)?.result?.procCpu;
    cpuRows.push([
      s.title,
      procs ? `${Object.keys(procs).join(' ')} | generator` : 'broker | generator',
      '',
      ...brokers.map((b) => {
        const r = runs.find((x) => x.scenario === s.id && x.broker === b)?.result;
        if (!r) return s.brokers && !s.brokers.includes(b) ? 'N/A' : '';
        const gens = Object.entries(r.genCpu).map(([k, v]) => `${k} ${pct(v)}`).join(' ');
        const server = r.procCpu ? Object.values(r.procCpu).map(pct).join(' ') : pct(r.brokerCpu);
        return `${server} | ${gens}`;
      }),
    ]);
  }
  out.push('', table(cpuRows));

  out.push('', 'Ratios' + (baseOf(brokers) === SUBJECT ? '' : ' (starling not run: shown between peers)'));
  for (const s of scenarios) {
    for (const m of s.metrics.filter((m) => m.ratio)) {
      const rs = ratios.filter((r) => r.scenario === s.id && r.metric === m.key);
      if (!rs.length) continue;
      const hint = m.better === 'lower' ? '  (lower is better)' : '';
      const show = (r: Ratio) => (r.baseline ? `xnode/same-node (${r.baseline}) ${r.ratio.toFixed(2)}x` : `${r.base}/${r.peer} ${r.ratio.toFixed(2)}x`);
      out.push(`  ${s.title} ${m.label}: ${rs.map(show).join(', ')}${hint}`);
    }
  }

  out.push('', 'Targets (Starling)');
  for (const t of targets) out.push(`  [${t.status}] ${t.label}: ${t.detail}`);

  // Generator check: (a) null relay rate vs the best broker, (b) the generator's own CPU
  // in the best broker's run (well under 100% of a core per process = not the limit).
  out.push('', 'Load generator check');
  for (const s of scenarios) {
    const m = s.metrics[0]!;
    const valid = brokers
      .filter((b) => b !== CALIBRATION)
      .map((b) => [b, value(runs, s.id, b, m.key)] as const)
      .filter((p): p is readonly [string, number] => p[1] !== undefined);
    if (!valid.length) continue;
    const best = valid.reduce((a, b) => (m.better === 'higher' ? (b[1] > a[1] ? b : a) : b[1] < a[1] ? b : a));
    const bestRun = runs.find((r) => r.scenario === s.id && r.broker === best[0])?.result;
    const genCpu = bestRun ? Object.entries(bestRun.genCpu).map(([k, v]) => `${k} ${pct(v)}`).join(', ') : '-';
    const ceiling = value(runs, s.id, CALIBRATION, m.key);
    let line = `  ${s.title}: best ${best[0]} ${fmt(best[1], m)} ${m.unit}, generator CPU there ${genCpu}`;
    if (s.calibration === 'cpu' && s.genCostMetric) {
      const cost = bestRun?.metrics[s.genCostMetric];
      if (cost) line += `; generator cost ${fmt(cost, { digits: 0 })} µs CPU per ${m.unit.split('/')[0]} = ~${fmt(1e6 / cost)} ${m.unit} per generator core`;
    } else if (ceiling !== undefined && m.better === 'higher') {
      const headroom = ceiling / best[1];
      line += `; null relay ${fmt(ceiling)} ${m.unit} = ${headroom.toFixed(1)}x headroom${headroom < 1.5 ? '  << generator may be limiting' : ''}`;
    } else if (ceiling !== undefined) {
      line += `; through the null relay ${fmt(ceiling, m)} ${m.unit} (generator + loopback floor)`;
    }
    out.push(line);
  }

  const warnings = runs.flatMap((r) => [
    ...(r.error ? [`${r.scenario}/${r.broker}: ERROR ${r.error}`] : []),
    ...(r.machine && r.machine.foreign > DISTURBED ? [`${r.scenario}/${r.broker}: ${describeForeign(r.machine)}; result skewed`] : []),
    ...(r.result?.warnings ?? []).map((w) => `${r.scenario}/${r.broker}: ${w}`),
  ]);
  const details = runs.filter((r) => r.result?.details?.length);
  if (details.length) {
    out.push('', 'Details');
    for (const r of details) out.push(`  ${r.scenario}/${r.broker}:`, ...r.result!.details!.map((d) => `    ${d}`));
  }
  if (warnings.length) out.push('', 'Warnings', ...warnings.map((w) => `  ${w}`));
  if (notes.length) out.push('', 'Notes', ...notes.map((n) => `  ${n}`));
  return out.join('\n');
}

export function writeJson(dir: string, data: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `results-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}
