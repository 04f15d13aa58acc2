/**
 * What the rule engine costs per published message on one in-process node (no sockets):
 * the rules-qos0 scenario's 10 rules on `bench/#` (every FROM matches, half pass WHERE and
 * republish to a topic nobody subscribes to), against the same node with no rules, in ns
 * per message. The subscribers are sessions whose connection only counts, so routing and
 * delivery run as on a real node.
 *
 *   node dist/test/bench/tools/rules-cost.js [--n=2000000] [--rounds=5] [--run=100] [--passing=5] [--action=republish|do_nothing] [--only=rules|none]
 *
 * Not part of `npm test`; one process, one core; run it under `node --cpu-prof` to see where
 * the rules' time goes.
 */
import pino from 'pino';
import { composeBroker } from '../../../node/core/compose.js';
import type { Connection } from '../../../node/protocol/connection.js';
import type { SubOptions } from '../../../node/router/router.js';
import { Session } from '../../../node/session/session.js';
import type { RuleRecord } from '../../../shared/api/rules.js';
import { loadConfig } from '../../../shared/config.js';
import { newMessage } from '../../../shared/message.js';

const arg = (name: string, def: string): string => process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const N = Number(arg('n', '2000000'));
const ROUNDS = Number(arg('rounds', '5'));
const ONLY = arg('only', '');
const TOPICS = 10;
// how many of the 10 rules pass their WHERE (the scenario: 5)
const PASSING = Number(arg('passing', '5'));
// the passing rules' action (the scenario: republish); do_nothing shows what the rest costs
const ACTION = arg('action', 'republish');
// messages in a row from one publisher: a socket read holds many of one connection's PUBLISHes
const RUN = Number(arg('run', '100'));

// the scenario's rules (test/bench/scenarios/rules.ts)
const rules: RuleRecord[] = Array.from({ length: 10 }, (_, i) => ({
  id: `rule:${i}`,
  rawsql: `SELECT payload, clientid, topic, qos FROM "bench/#" WHERE ${(PASSING === 5 ? i % 2 === 0 : i < PASSING) ? 'qos = 0' : 'qos = 1'} and topic =~ 'bench/+'`,
  actions: [ACTION === 'republish' ? { id: `action:${i}`, name: 'republish', params: { target_topic: `bench-rules/${i}/\${clientid}`, payload_tmpl: '${payload}' } } : { id: `action:${i}`, name: ACTION, params: {} }],
  for: ['bench/#'],
  description: '',
  enabled: true,
  created_at: 0,
}));

const b = composeBroker(loadConfig({ STARLING_MQTT_PORT: '0', STARLING_WS_PORT: '-1' }), pino({ level: 'silent' }));
let delivered = 0;
const opts: SubOptions = { qos: 0, nl: false, rap: false, rh: 0, subId: undefined, share: undefined };
for (let i = 0; i < TOPICS; i++) {
  const s = new Session(`sub${i}`, b as never);
  s.conn = { clientReceiveMax: 65535, congested: () => false, sendPublish: () => void delivered++ } as unknown as Connection;
  b.router.subscribe(s, `bench/${i}`, opts);
}
const payload = Buffer.from('x'.repeat(64));
// each message's topic a new string, as the PUBLISH parser makes it (its hash not yet computed)
const topicBytes = Array.from({ length: TOPICS }, (_, i) => Buffer.from(`bench/${i}`));
const froms = Array.from({ length: TOPICS }, (_, i) => `bench-pub-${i}`);

/** CPU ns per message (CPU time, not wall time: the machine is shared, a preempted run is not slower) */
function run(n: number): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const k = Math.floor(i / RUN) % TOPICS;
    const tb = topicBytes[k]!;
    b.publish(newMessage({ topic: tb.toString('utf8', 0, tb.length), payload, qos: 0, retain: false, from: froms[k]!, timestamp: 0 }));
  }
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / n;
}

const report = (name: string, ns: number[]): void => {
  const s = [...ns].sort((x, y) => x - y);
  console.log(`${name.padEnd(12)} best ${s[0]!.toFixed(0).padStart(6)} ns/msg   median ${s[s.length >> 1]!.toFixed(0).padStart(6)} ns/msg`);
};

const none: number[] = [];
const withRules: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  if (ONLY !== 'rules') {
    b.rules.setRules([]);
    none.push(run(N));
  }
  if (ONLY !== 'none') {
    b.rules.setRules(rules);
    withRules.push(run(N));
  }
}
if (none.length) report('no rules', none);
if (withRules.length) report('10 rules', withRules);
if (none.length && withRules.length) console.log(`rules add ${(Math.min(...withRules) - Math.min(...none)).toFixed(0)} ns/msg (best of each)`);
const m = b.rules.metrics();
console.log(`delivered ${delivered}, matched ${Object.values(m.rules).reduce((a, x) => a + x.matched, 0)}, republished ${Object.values(m.actions).reduce((a, x) => a + x.success, 0)}`);
