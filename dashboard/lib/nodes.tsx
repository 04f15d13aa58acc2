// Which nodes are missing. A node that crashed answers 101 until its heartbeat expires, and
// then simply leaves GET /api/v4/nodes: a table would just be shorter. So the shell
// remembers every node it has seen in this tab and names those that stopped running.
// The shell's poll is the tab's one read of GET /api/v4/nodes: the overview shows the same
// answer (useNodes) rather than asking again on a timer of its own.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.js';
import { useApi, type Loaded } from './poll.js';

/** How often the shell reads the nodes. */
export const NODES_POLL_MS = 5000;

/** A row of GET /api/v4/nodes, the fields the dashboard shows. */
export interface NodeRow {
  node: string;
  node_status: string;
  uptime: string;
  version: string;
  memory_used: string;
  memory_total: string;
  connections: number;
}

const seen = new Set<string>();

/** Every node this tab has seen in GET /api/v4/nodes, running or not now. */
export const seenNodes = (): string[] => [...seen].sort();

let latest: Loaded<NodeRow[]> | undefined;
const readers = new Set<(l: Loaded<NodeRow[]>) => void>();

/** The shell's latest read of the nodes (undefined before its first answer). */
export function useNodes(): Loaded<NodeRow[]> | undefined {
  const [nodes, setNodes] = useState(latest);
  useEffect(() => {
    readers.add(setNodes);
    return () => void readers.delete(setNodes);
  }, []);
  return nodes;
}

/** A banner on every page for each node seen before that is now gone or not running. */
export function NodeWatch(): JSX.Element | null {
  const nodes = useApi((read) => get<NodeRow[]>('/nodes', read), 'watch', NODES_POLL_MS);
  useEffect(() => {
    if (nodes.loading) return;
    latest = nodes;
    for (const r of readers) r(nodes);
  }, [nodes.answer, nodes.error, nodes.loading]);
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
