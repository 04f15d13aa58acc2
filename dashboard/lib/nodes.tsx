// Which nodes are missing. A node that crashed answers 101 until its heartbeat expires, and
// then simply leaves GET /api/v4/nodes: a table would just be shorter. So the shell
// remembers every node it has seen in this tab and names those that stopped running.
import type { JSX } from 'preact';
import { get } from './api.js';
import { useApi } from './poll.js';

const seen = new Set<string>();

/** Every node this tab has seen in GET /api/v4/nodes, running or not now. */
export const seenNodes = (): string[] => [...seen].sort();

interface NodeRow {
  node: string;
  node_status: string;
}

/** A banner on every page for each node seen before that is now gone or not running. */
export function NodeWatch(): JSX.Element | null {
  const nodes = useApi((read) => get<NodeRow[]>('/nodes', read), 'watch', 5000);
  const rows = nodes.answer?.data;
  if (!rows || nodes.error) return null;
  const running = new Set(rows.filter((n) => n.node_status === 'Running').map((n) => n.node));
  for (const n of rows) seen.add(n.node);
  const missing = [...seen].filter((n) => !running.has(n)).sort();
  if (missing.length === 0) return null;
  return (
    <div class="banner banner-down" role="alert" data-missing={missing.join(',')}>
      <strong>{missing.length === 1 ? `Node ${missing[0]} is down` : `Nodes ${missing.join(', ')} are down`}</strong>{' '}
      <span>(no longer running in the cluster; lists show the other nodes only).</span>
    </div>
  );
}
