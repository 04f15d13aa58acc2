/** Reading Prometheus' text format in tests: sample → value, and what a gateway's /metrics answers. */
import assert from 'node:assert/strict';

/** Every sample line as `name{labels}` (exactly as written) → value; comments skipped. */
export function parseSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** GET <base>/metrics without credentials: must be 200 in Prometheus' text format. */
export async function scrapeMetrics(base: string): Promise<{ text: string; samples: Map<string, number> }> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  assert.equal(res.status, 200, text.slice(0, 500));
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return { text, samples: parseSamples(text) };
}
