/**
 * What a hookpoint costs on the delivery path when nobody listens (node/core/hooks.ts):
 * the emitting site tests a plain `active` field before it builds a payload. Compared, per
 * delivery, in ns:
 *
 *   bare           the delivery's own work (a counter bump), no hook at all
 *   inactive hook  the same plus `if (h.active) h.emit({...})` with no listener
 *   direct call    the same plus a direct call of a no-op observer (what a hard-wired
 *                  callback would cost)
 *   active hook    one no-op listener attached: payload object + emit
 *   Session        a real Session.deliver() to a stub connection, no listener / one listener
 *
 *   node dist/test/bench/tools/hooks-cost.js [--n=20000000] [--rounds=7]
 *
 * Not part of `npm test`; one process, one core, best and median of the rounds.
 */
import { Hooks, type Hook, type MessageDeliveredEvent } from '../../../node/core/hooks.js';
import { Metrics } from '../../../node/metrics/metrics.js';
import type { Connection } from '../../../node/protocol/connection.js';
import { Session } from '../../../node/session/session.js';
import type { SubOptions } from '../../../node/router/router.js';
import { loadConfig } from '../../../shared/config.js';
import { createLogger } from '../../../shared/logger.js';
import { newMessage, type Message, type QoS } from '../../../shared/message.js';

const arg = (name: string, def: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
};
const N = arg('n', 20_000_000);
const ROUNDS = arg('rounds', 7);

const hooks = new Hooks(createLogger('silent'));
const counters = new Float64Array(8);
const msg = newMessage({ topic: 'bench/hooks', payload: Buffer.from('x'), qos: 0, retain: false, from: 'pub' });
let observed = 0;

/** What each variant runs per delivery, shaped like Session.deliver's tail. */
class Site {
  constructor(
    readonly clientId: string,
    private readonly host: { hooks: Hooks; values: Float64Array },
  ) {}

  bare(m: Message, qos: QoS): void {
    this.host.values[0]! += qos + 1;
    if (m.retain) this.host.values[1]! += 1;
  }

  inactive(m: Message, qos: QoS): void {
    this.host.values[0]! += qos + 1;
    const h: Hook<MessageDeliveredEvent> = this.host.hooks.messageDelivered;
    if (h.active) h.emit({ clientid: this.clientId, message: m, qos });
    if (m.retain) this.host.values[1]! += 1;
  }

  direct(m: Message, qos: QoS): void {
    this.host.values[0]! += qos + 1;
    observe(this.clientId, m, qos);
    if (m.retain) this.host.values[1]! += 1;
  }
}

function observe(_clientid: string, _m: Message, qos: QoS): void {
  observed += qos;
}

type Variant = (site: Site, n: number) => void;
const variants: Record<string, Variant> = {
  bare: (s, n) => {
    for (let i = 0; i < n; i++) s.bare(msg, 0);
  },
  'inactive hook': (s, n) => {
    for (let i = 0; i < n; i++) s.inactive(msg, 0);
  },
  'direct call': (s, n) => {
    for (let i = 0; i < n; i++) s.direct(msg, 0);
  },
};

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

function report(name: string, ns: number[], n: number): void {
  const per = ns.map((t) => t / n).sort((a, b) => a - b);
  console.log(`${name.padEnd(28)} best ${per[0]!.toFixed(2).padStart(6)} ns   median ${per[per.length >> 1]!.toFixed(2).padStart(6)} ns`);
}

const site = new Site('sub', { hooks, values: counters });
console.log(`per delivery, ${N.toLocaleString()} deliveries × ${ROUNDS} rounds (node ${process.version})`);
const results: Record<string, number[]> = {};
for (let r = 0; r < ROUNDS; r++) {
  // interleaved, so drift of the machine's load hits every variant alike
  for (const [name, fn] of Object.entries(variants)) (results[name] ??= []).push(time(() => fn(site, N)));
}
for (const [name, ns] of Object.entries(results)) report(name, ns, N);

{
  const detach = hooks.messageDelivered.on(() => {
    observed++;
  });
  const ns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) ns.push(time(() => variants['inactive hook']!(site, N)));
  report('active hook (1 listener)', ns, N);
  detach();
}

// a real Session.deliver() to a connection stub that only counts
{
  const cfg = loadConfig({ STARLING_NODE_NAME: 'bench@127.0.0.1' }, []);
  const host = { cfg, metrics: new Metrics(), hooks };
  const session = new Session('sub', host);
  let sent = 0;
  session.conn = {
    clientReceiveMax: 65535,
    congested: () => false,
    sendPublish: () => {
      sent++;
    },
  } as unknown as Connection;
  const opts: SubOptions = { qos: 0, nl: false, rap: false, rh: 0, subId: undefined, share: undefined };
  const n = N >> 1;
  const run = (): void => {
    for (let i = 0; i < n; i++) session.deliver(msg, opts);
  };
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 0; r < ROUNDS; r++) off.push(time(run));
  const detach = hooks.messageDelivered.on(() => {
    observed++;
  });
  for (let r = 0; r < ROUNDS; r++) on.push(time(run));
  detach();
  report('Session.deliver, no listener', off, n);
  report('Session.deliver, 1 listener', on, n);
  if (sent === 0) throw new Error('nothing delivered');
}

if (counters[0] === 0 || observed < 0) throw new Error('optimised away');
