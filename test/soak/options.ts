/** What a soak run does, its defaults, and the command line that sets them. */
import type { FaultContext, FaultOutcome } from './faults/contract.js';
import type { ApiFrontend } from '../support/haproxy-gateways.js';
import { FAULT_KINDS, parseFaultKinds, type FaultKind } from './faults/kinds.js';

export interface SoakOptions {
  /** how long the traffic runs, ms (then the drain and the end checks) */
  durationMs: number;
  /** clients in the population, of every role together */
  clients: number;
  /** seeds the population's PRNG: the same seed gives the same roles, topics and choices */
  seed: number;
  /** QoS 0/1/2 publishes per second, all publishers together (bounded, so the run stops by itself) */
  publishRate: number;
  /** a node's STARLING_MAX_MQUEUE: messages queued per offline session before the oldest is dropped */
  maxMqueue: number;
  /**
   * The share (0..1) of persistent subscribers' reconnections that go to a random node, so
   * their session moves there (a takeover across nodes); the rest return to their last node.
   */
  roam: number;
  /** extra environment for every node */
  nodeEnv: Record<string, string>;
  /** progress lines (one every few seconds); unset: silent */
  log?: (line: string) => void;
  /**
   * Fault injection: called once the traffic runs, with the cluster; it may kill, stop or
   * restart processes and resolves when it is done (the run waits for it before draining),
   * with its numbers and checks (faults/schedule.ts; `--faults`).
   */
  faults?: (ctx: FaultContext) => Promise<FaultOutcome | void>;
  /** how the API is served (default: one gateway; with faults: two behind HAProxy) */
  api?: (cluster: import('../support/cluster.js').TestCluster, env: Record<string, string>) => Promise<ApiFrontend>;
  /** the fault kinds `--faults` asked for (main.ts turns them into `faults`) */
  faultKinds?: FaultKind[];
}

export type { FaultContext, FaultOutcome } from './faults/contract.js';

export const DEFAULTS: SoakOptions = {
  durationMs: 5 * 60_000,
  clients: 2000,
  seed: 1,
  publishRate: 300,
  maxMqueue: 1000,
  roam: 0.5,
  nodeEnv: {},
};

const USAGE = `usage: npm run soak -- [--duration=SECONDS] [--clients=N] [--seed=N] [--rate=MSG_PER_S] [--max-mqueue=N] [--roam=SHARE] [--faults=all|KIND,...]
  --duration   traffic time in seconds (default ${DEFAULTS.durationMs / 1000})
  --clients    clients in the population (default ${DEFAULTS.clients})
  --seed       PRNG seed (default ${DEFAULTS.seed})
  --rate       publishes per second, all publishers together (default ${DEFAULTS.publishRate})
  --max-mqueue the nodes' STARLING_MAX_MQUEUE (default ${DEFAULTS.maxMqueue})
  --roam       share of persistent reconnections to another node, 0..1 (default ${DEFAULTS.roam})
  --faults     during the traffic, one after another: ${FAULT_KINDS.join(', ')} (or all);
               the API is then served by two gateways behind HAProxy (default: no faults)`;

/** Options from `--name=value` arguments; throws a usage error on anything else. */
export function parseArgs(argv: string[]): SoakOptions {
  const o: SoakOptions = { ...DEFAULTS, nodeEnv: {} };
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') throw new UsageError(USAGE);
    if (arg.startsWith('--faults=')) {
      try {
        o.faultKinds = parseFaultKinds(arg.slice('--faults='.length));
      } catch (err) {
        throw new UsageError(`${(err as Error).message}\n${USAGE}`);
      }
      continue;
    }
    const m = /^--([a-z-]+)=(.+)$/.exec(arg);
    const n = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(n) || n < 0) throw new UsageError(`bad argument ${JSON.stringify(arg)}\n${USAGE}`);
    switch (m[1]) {
      case 'duration': o.durationMs = n * 1000; break;
      case 'clients': o.clients = Math.floor(n); break;
      case 'seed': o.seed = Math.floor(n); break;
      case 'rate': o.publishRate = n; break;
      case 'max-mqueue': o.maxMqueue = Math.floor(n); break;
      case 'roam': o.roam = Math.min(1, n); break;
      default: throw new UsageError(`unknown option --${m[1]}\n${USAGE}`);
    }
  }
  if (o.clients < 20) throw new UsageError(`--clients must be at least 20\n${USAGE}`);
  return o;
}

export class UsageError extends Error {}
