/** What the soak run and a fault schedule give each other (run.ts calls the hook; schedule.ts is one). */
import type { TestCluster } from '../../support/cluster.js';
import type { Check } from '../checks.js';
import type { LedgerResult } from '../ledger.js';
import type { PollSample } from '../pollers.js';
import type { ApiFrontend } from '../../support/haproxy-gateways.js';

/** What a fault hook gets once the traffic runs. */
export interface FaultContext {
  /** the cluster as test/support/cluster.ts started it */
  cluster: TestCluster;
  /** where the API is served (the gateways, HAProxy) */
  api: ApiFrontend;
  /** resolves when the traffic phase ends */
  trafficDone: Promise<void>;
  rand: () => number;
  /** keeps the traffic going past its duration until `done` resolves (the last fault undone and settled) */
  holdTraffic(done: Promise<void>): void;
  /** counts a publish of the fault's own clients with the population's (the metric checks compare them) */
  published(qos: 0 | 1 | 2): void;
}

/** What the run knows at its end, for a fault schedule's checks. */
export interface FaultEnd {
  /** every API and /metrics call of the pollers */
  samples: PollSample[];
  /** every owed (message, persistent subscriber) pair never delivered */
  missing: LedgerResult['missingPairs'];
  /** each persistent subscriber's connection history (`<ms> connect :<port>`, `<ms> closed`) */
  histories: Map<string, string[]>;
  /** when each QoS 2 duplicate came */
  qos2Duplicates: number[];
  /** what the subscriber's socket saw of a message, and its connections around then */
  explain(clientId: string, id: string, at: number): string;
}

/** What a fault hook resolves to: its numbers and checks once the run has ended. */
export interface FaultOutcome {
  /** the nodes' metrics as read at the end, plus what killed incarnations had counted */
  metrics(per: Map<string, Record<string, number>>): Map<string, Record<string, number>>;
  report(end: FaultEnd): FaultReport;
}

export interface FaultReport {
  checks: Check[];
  numbers: Record<string, number | string>;
  /** missing pairs explained by a documented gap (they are a check of their own) */
  knownGapMissing: number;
}
