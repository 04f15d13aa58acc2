/** IPC messages between the orchestrator and a load generator process. */
export type Role = 'sub' | 'pub' | 'conn' | 'latency';

export interface GenRequest {
  id: number;
  op: 'setup' | 'start' | 'connect' | 'close' | 'snap' | 'stop';
  role?: Role;
  params?: Record<string, unknown>;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** A generator's counters at one instant; rates come from the difference of two snaps. */
export interface Snap {
  /** performance.now() in the generator, ms. */
  t: number;
  /** process.cpuUsage() of the generator, µs. */
  cpu: { user: number; system: number };
  counters: { sent: number; acked: number; received: number; connected: number; failed: number; errors: number; bad: number };
  lastError: string;
  /** PUBLISHes received so far by each subscriber connection (sub role), in setup order. */
  perSub?: number[];
  /** Latency samples (ms) since the previous snap, latency role only. */
  latency?: LatencySummary;
}

export interface GenReply {
  id: number;
  ok: boolean;
  error?: string;
  snap?: Snap;
  result?: { elapsedMs: number };
}
