// The examples of EMQX's v3 REST API document (test/fixtures/emqx-rest-api-v3.rst, a copy of
// the spec), parsed: each "API 定义" with the JSON answer that follows it, and a shape check
// (same keys, same JSON types) of an answer against one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './broker.js';

export const V3_SPEC = join(REPO_ROOT, 'test', 'fixtures', 'emqx-rest-api-v3.rst');

/** `"GET /connections/:clientid"` → the example answer (the first one the spec gives for it). */
export function v3Examples(file = V3_SPEC): Map<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = new Map<string, any>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('API 定义::')) continue;
    const def = lines.slice(i + 1).find((l) => l.trim() !== '')!.trim();
    const [method, raw] = def.split(/\s+/);
    const path = raw!
      .replace(/^api\/v3/, '')
      .replace(/\?.*$/, '')
      .replace(/\$\{(\w+)\}/g, ':$1');
    // the answer: the first code block after "返回数据"
    let j = lines.findIndex((l, k) => k > i && l.startsWith('返回数据'));
    j = lines.findIndex((l, k) => k > j && l.startsWith('.. code-block:: json'));
    const body: string[] = [];
    for (let k = j + 1; k < lines.length && (lines[k] === '' || lines[k]!.startsWith(' ')); k++) body.push(lines[k]!);
    const key = `${method} ${path}`;
    if (!out.has(key)) out.set(key, JSON.parse(body.join('\n')));
  }
  return out;
}

/** The fields whose keys are data, not names: listeners' shutdown_count. */
const RECORDS = /\.shutdown_count$/;

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * `actual` has the shape of `example`: objects the same keys, each value of a JSON type the
 * example shows for it; arrays' items the shape of the example's items (any item, where the
 * example's differ, as listeners' `shutdown_count` is [] or an object). An empty example
 * array says nothing of its items.
 */
export function assertShape(actual: unknown, example: unknown, at = 'body'): void {
  if (RECORDS.test(at)) {
    // reason → count, whatever reasons have been counted ([] before any, as EMQX's)
    if (Array.isArray(actual)) return assert.equal(actual.length, 0, at);
    assert.equal(kind(actual), 'object', at);
    for (const [k, v] of Object.entries(actual as object)) assert.equal(typeof v, 'number', `${at}.${k}`);
    return;
  }
  if (Array.isArray(example)) {
    assert.ok(Array.isArray(actual), `${at}: ${JSON.stringify(actual)} is not an array`);
    if (example.length === 0) return;
    for (const [i, item] of actual.entries()) assertOneOf(item, example, `${at}[${i}]`);
    return;
  }
  if (kind(example) === 'object') {
    assert.equal(kind(actual), 'object', `${at}: ${JSON.stringify(actual)} is not an object`);
    const a = actual as Record<string, unknown>;
    const e = example as Record<string, unknown>;
    assert.deepEqual(Object.keys(a).sort(), Object.keys(e).sort(), `${at}: keys`);
    for (const k of Object.keys(e)) assertShape(a[k], e[k], `${at}.${k}`);
    return;
  }
  assert.equal(kind(actual), kind(example), `${at}: ${JSON.stringify(actual)} is not a ${kind(example)}`);
}

function assertOneOf(actual: unknown, examples: unknown[], at: string): void {
  const failures: string[] = [];
  for (const e of examples) {
    try {
      return assertShape(actual, e, at);
    } catch (err) {
      failures.push((err as Error).message);
    }
  }
  assert.fail(failures[0]);
}
