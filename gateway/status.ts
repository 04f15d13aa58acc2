import type { RequestHandler } from 'express';
import type { ClusterClient } from './cluster-client.js';

/** How long a /status answer is reused: a load balancer may probe every second from many places. */
const CACHE_MS = 500;
const PROBE_TIMEOUT_MS = 1000;

/**
 * GET /status (no auth), EMQX's text: 200 "... is running" when a live node answers an
 * RPC, 503 "... is not_running" otherwise.
 */
export function statusHandler(cluster: ClusterClient): RequestHandler {
  let last: { at: number; ok: boolean; node: string } | undefined;
  let probing: Promise<{ ok: boolean; node: string }> | undefined;
  const probe = async (): Promise<{ ok: boolean; node: string }> => {
    let nodes: string[] = [];
    try {
      nodes = await cluster.nodes();
    } catch {
      return { ok: false, node: '' };
    }
    for (const node of nodes) {
      try {
        await Promise.race([
          cluster.one(node, 'brokers.get', {}),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS).unref()),
        ]);
        return { ok: true, node };
      } catch {
        /* try the next node */
      }
    }
    return { ok: false, node: nodes[0] ?? '' };
  };
  return (_req, res) => {
    const answer = (s: { ok: boolean; node: string }): void => {
      res
        .status(s.ok ? 200 : 503)
        .type('text/plain')
        .send(`Node ${s.node || 'none'} is started\nemqx is ${s.ok ? 'running' : 'not_running'}\n`);
    };
    if (last && Date.now() - last.at < CACHE_MS) return answer(last);
    probing ??= probe().then((s) => {
      last = { ...s, at: Date.now() };
      probing = undefined;
      return s;
    });
    void probing.then(answer);
  };
}
