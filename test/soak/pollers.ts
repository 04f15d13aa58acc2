/**
 * What an operator's tools do during the soak: poll the gateway's API and /metrics (as a
 * dashboard and Prometheus would), and sample the nodes' resident memory.
 */
import { readFileSync } from 'node:fs';

const AUTH = `Basic ${Buffer.from('admin:public').toString('base64')}`;
/** GETs every poll round makes; paged lists with a small page, as a dashboard asks */
const PATHS = ['/api/v4/clients?_limit=50', '/api/v4/routes?_limit=50', '/api/v4/subscriptions?_limit=50', '/api/v4/stats', '/api/v4/metrics', '/api/v4/nodes', '/metrics'];

export interface PollStats {
  requests: number;
  /** answers that were not HTTP 200 with code 0 (or, for /metrics, 200), with the first few */
  failures: number;
  failureExamples: string[];
  maxLatencyMs: number;
  /** the highest resident memory seen, per node pid, bytes */
  peakRss: Map<number, number>;
  /** every call: when it went out, how long it took, what it answered (fault windows are read from these) */
  samples: PollSample[];
}

export interface PollSample {
  path: string;
  at: number;
  ms: number;
  /** the HTTP status (0: no answer), and the body's code for the API (undefined for /metrics or a non-JSON body) */
  status: number;
  code?: number;
  /** the error when there was no answer */
  error?: string;
}

/** Resident set size of a process, bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** GET a gateway path as an API client: the parsed JSON (or text for /metrics) and the status. */
export async function apiGet(base: string, path: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(base + path, { headers: { authorization: AUTH }, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown = text;
  if (!path.startsWith('/metrics')) {
    try {
      body = JSON.parse(text);
    } catch {
      /* reported as a failure below */
    }
  }
  return { status: res.status, body };
}

export class Pollers {
  readonly stats: PollStats = { requests: 0, failures: 0, failureExamples: [], maxLatencyMs: 0, peakRss: new Map(), samples: [] };
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();

  constructor(
    private readonly base: string,
    private readonly pids: () => number[],
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.round = this.round.then(() => this.poll());
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.round;
  }

  private async poll(): Promise<void> {
    for (const pid of this.pids()) {
      try {
        const rss = rssBytes(pid);
        if (rss > (this.stats.peakRss.get(pid) ?? 0)) this.stats.peakRss.set(pid, rss);
      } catch {
        /* the process is gone: the end checks say so */
      }
    }
    await Promise.all(PATHS.map((p) => this.get(p)));
  }

  private async get(path: string): Promise<void> {
    const t0 = Date.now();
    this.stats.requests++;
    let problem: string | undefined;
    const sample: PollSample = { path, at: t0, ms: 0, status: 0 };
    try {
      const { status, body } = await apiGet(this.base, path);
      sample.status = status;
      if (typeof body?.code === 'number') sample.code = body.code;
      if (status !== 200) problem = `HTTP ${status}`;
      else if (!path.startsWith('/metrics') && body?.code !== 0) problem = `code ${body?.code} ${body?.message ?? ''}`;
    } catch (err) {
      problem = sample.error = String(err);
    }
    sample.ms = Date.now() - t0;
    this.stats.samples.push(sample);
    this.stats.maxLatencyMs = Math.max(this.stats.maxLatencyMs, sample.ms);
    if (problem === undefined) return;
    this.stats.failures++;
    if (this.stats.failureExamples.length < 5) this.stats.failureExamples.push(`GET ${path}: ${problem}`);
  }
}
