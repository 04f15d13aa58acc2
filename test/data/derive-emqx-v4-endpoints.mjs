// Derives test/data/emqx-v4-endpoints.json from EMQX's HTTP API v4 document (run once, by
// hand, when the spec changes; the tests never read the spec itself):
//
//   node test/data/derive-emqx-v4-endpoints.mjs ../shared/spec/emqx-http-api-v4.md > test/data/emqx-v4-endpoints.json
//
// Every heading `#... METHOD /api/v4/...` (or `api/v4/...`), in the spec's order, its path
// as the gateway's tables write it: below /api/v4 (GET /api/v4 itself is `/`), `{name}` as
// `:name`, no trailing slash. A heading whose last path parameter the spec's table marks
// optional (Required False: brokers, nodes, actions, resource_types, resources) stands
// for two endpoints, with and without it, as EMQX serves them; the form without it is
// listed first, once (resources has its own heading for it).
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8');
const lines = text.split('\n');
const out = [];
const seen = new Set();
const add = (method, path, heading) => {
  const key = `${method} ${path}`;
  if (seen.has(key)) return;
  seen.add(key);
  out.push({ method, path, heading });
};
lines.forEach((line, i) => {
  const m = /^#+ (GET|POST|PUT|DELETE) \/?api\/v4(\/[^\s]*)?\s*$/.exec(line);
  if (!m) return;
  const heading = line.replace(/^#+ /, '');
  const raw = (m[2] ?? '/').replace(/\/$/, '') || '/';
  const path = raw.replace(/\{(\w+)\}/g, ':$1');
  const last = /\/:(\w+)$/.exec(path);
  if (last) {
    // the section's Path Parameters table, up to the next heading
    const section = [];
    for (let j = i + 1; j < lines.length && !/^#/.test(lines[j]); j++) section.push(lines[j]);
    const row = section.find((l) => new RegExp(`^\\|\\s*${last[1]}\\s*\\|`).test(l));
    if (row && /\|\s*False\s*\|/.test(row)) add(m[1], path.slice(0, last.index), heading);
  }
  add(m[1], path, heading);
});
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
