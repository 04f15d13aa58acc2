import type { RuleTest } from '../../shared/api/rules.js';
import type { Source } from './sql/compile.js';
import { compileSql } from './sql/compile.js';
import { decodeJson, type Value } from './sql/values.js';

/**
 * EMQX's emqx_rule_sqltester (POST /api/v4/rules?test=true): compiles a rule's SQL and runs
 * it once on a synthetic event made of the operator's `ctx` (a sample message or event);
 * no action runs and nothing is kept. Columns ctx does not give get EMQX's defaults.
 */

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The columns of a sample event: ctx over the defaults a message.publish has. */
function sampleColumns(ctx: Record<string, unknown>, node: string): Record<string, Value> {
  const now = Date.now();
  return {
    id: 'sample',
    event: 'message.publish',
    clientid: 'c_emqx',
    username: 'u_emqx',
    payload: '{"msg": "hello"}',
    peerhost: '127.0.0.1',
    topic: 't/a',
    qos: 1,
    flags: { sys: false, retain: false },
    headers: {},
    pub_props: {},
    timestamp: now,
    publish_received_at: now,
    ...(ctx as Record<string, Value>),
    node,
  };
}

class SampleSource implements Source {
  private json: Value;
  private decoded = false;
  constructor(private readonly cols: Record<string, Value>) {}
  col(name: string): Value {
    return this.cols[name];
  }
  payloadJson(): Value {
    if (!this.decoded) {
      this.decoded = true;
      const p = this.cols.payload;
      this.json = typeof p === 'string' ? decodeJson(Buffer.from(p)) : isObject(p) ? p : undefined;
    }
    return this.json;
  }
  all(): Record<string, Value> {
    return { ...this.cols };
  }
  envs(): Record<string, Value> {
    return this.cols;
  }
}

/** Runs `rawsql` once on the event `ctx` describes: the selected columns, "not matched", or why it failed. */
export function testSql(rawsql: string, ctx: unknown, node: string): RuleTest {
  if (ctx !== undefined && !isObject(ctx)) return { ok: false, nomatch: false, message: 'ctx must be an object' };
  let sql;
  try {
    sql = compileSql(rawsql);
  } catch (err) {
    return { ok: false, nomatch: false, message: `bad SQL: ${(err as Error).message}` };
  }
  try {
    const out = sql.run(new SampleSource(sampleColumns(ctx ?? {}, node)));
    if (out === undefined) return { ok: false, nomatch: true, message: 'SQL Not Match' };
    // as the API answers it: plain JSON (a binary value as its text, as EMQX shows binaries)
    const plain = JSON.stringify(out, function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k];
      return Buffer.isBuffer(raw) ? raw.toString('utf8') : v;
    });
    return { ok: true, data: JSON.parse(plain) as Record<string, unknown> };
  } catch (err) {
    return { ok: false, nomatch: false, message: `SQL failed: ${(err as Error).message}` };
  }
}
