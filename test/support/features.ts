import { api, ok } from './gateway.js';

/** `active` of one plugin or module on each node, in node order, as GET /api/v4/plugins or /modules shows it. */
export async function activeOn(base: string, ns: 'plugins' | 'modules', name: string): Promise<boolean[]> {
  const r = await api(base, 'GET', `/api/v4/${ns}`);
  ok(r);
  return (r.body.data as Record<string, { name: string; active: boolean }[]>[]).map((n) => {
    const found = n[ns]!.find((e) => e.name === name);
    if (!found) throw new Error(`${ns}: no ${name} on ${JSON.stringify(n.node)}`);
    return found.active;
  });
}
