/**
 * What the default ACL (etc/acl.conf, loaded unless STARLING_ACL_FILE=none) costs the
 * PUBLISH path: AccessControl.check() as the publish handler calls it, per check, in ns:
 *
 *   no ACL                 STARLING_ACL_FILE=none: the check counts client.check_acl and allows
 *   default, cached        the default rules, the client's cache hit (a publisher repeating
 *                          its topic: the codec hands the same string back, see codec.ts)
 *   default, cached, 8     the same, the publisher cycling over 8 topics
 *   default, uncached      the cache disabled: the rules evaluated every time (first match:
 *                          the 127.0.0.1 rule, for a local client; the last rule for another)
 *
 *   node dist/test/bench/tools/acl-check-cost.js [--n=10000000] [--rounds=7]
 *
 * Not part of `npm test`; one process, one core, best and median of the rounds.
 */
import { AccessControl } from '../../../node/access/index.js';
import { Metrics, metricIndex } from '../../../node/metrics/metrics.js';
import { loadConfig } from '../../../shared/config.js';

const arg = (name: string, def: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : def;
};
const N = arg('n', 10_000_000);
const ROUNDS = arg('rounds', 7);

const metrics = new Metrics();
const M_CHECK_ACL = metricIndex('client.check_acl');
/** as node/core/compose.ts builds it */
const access = (env: Record<string, string>): AccessControl => AccessControl.fromConfig(loadConfig(env, []), { onCheck: () => metrics.inc(M_CHECK_ACL) });

const none = access({ STARLING_ACL_FILE: 'none' });
const dflt = access({});
const uncached = access({ STARLING_ACL_CACHE_ENABLE: 'false' });
if (none.acl || !dflt.acl || dflt.acl.rules.length !== 4) throw new Error('not the configurations measured');

const local = { clientid: 'bench-pub', username: undefined, peerhost: '127.0.0.1' };
const remote = { clientid: 'bench-pub', username: undefined, peerhost: '10.1.2.3' };
const topic = 'bench/sensors/t1';
const topics = Array.from({ length: 8 }, (_, i) => `bench/sensors/t${i}`);

let allowed = 0;
type Variant = (n: number) => void;
const cache = dflt.newCache()!;
const cache8 = dflt.newCache()!;
const variants: Record<string, Variant> = {
  'no ACL': (n) => {
    for (let i = 0; i < n; i++) if (none.check(local, undefined, 'publish', topic) === 'allow') allowed++;
  },
  'default, cached': (n) => {
    for (let i = 0; i < n; i++) if (dflt.check(local, cache, 'publish', topic) === 'allow') allowed++;
  },
  'default, cached, 8 topics': (n) => {
    for (let i = 0; i < n; i++) if (dflt.check(local, cache8, 'publish', topics[i & 7]!) === 'allow') allowed++;
  },
  'default, uncached, local': (n) => {
    for (let i = 0; i < n; i++) if (uncached.check(local, undefined, 'publish', topic) === 'allow') allowed++;
  },
  'default, uncached, remote': (n) => {
    for (let i = 0; i < n; i++) if (uncached.check(remote, undefined, 'publish', topic) === 'allow') allowed++;
  },
};

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

console.log(`per check, ${N.toLocaleString()} checks × ${ROUNDS} rounds (node ${process.version})`);
const results: Record<string, number[]> = {};
for (let r = 0; r < ROUNDS; r++) {
  // interleaved, so drift of the machine's load hits every variant alike
  for (const [name, fn] of Object.entries(variants)) (results[name] ??= []).push(time(() => fn(N)));
}
for (const [name, ns] of Object.entries(results)) {
  const per = ns.map((t) => t / N).sort((a, b) => a - b);
  console.log(`${name.padEnd(28)} best ${per[0]!.toFixed(2).padStart(6)} ns   median ${per[per.length >> 1]!.toFixed(2).padStart(6)} ns`);
}
if (allowed !== N * ROUNDS * Object.keys(variants).length || metrics.get('client.check_acl') !== allowed) throw new Error('a check was not an allowed, counted one');
