// The rule engine's rules (GET /api/v4/rules): each with its SQL, topics, actions and its
// counters on every node; enable/disable (PUT), delete (confirmed), create (create.tsx).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Confirm, Failure, PageHead, Table, useAction } from '../../lib/ui.js';
import { CreateRule } from './create.js';
import { useCreating } from './creating.js';

interface NodeCount {
  node: string;
}

export interface RuleRow {
  id: string;
  for: string[];
  rawsql: string;
  enabled: boolean;
  description: string;
  metrics: (NodeCount & { matched: number; speed: number })[];
  actions: { id: string; name: string; params: Record<string, unknown>; metrics: (NodeCount & { success: number; failed: number })[] }[];
}

/** Per node, one line each: what a counter is on every node (a cluster's metrics are per node in EMQX's API). */
function PerNode<M extends NodeCount>({ rows, show }: { rows: M[]; show: (m: M) => string }): JSX.Element {
  return (
    <ul class="per-node">
      {rows.map((m) => (
        <li key={m.node}>
          <span class="node">{m.node}</span> {show(m)}
        </li>
      ))}
    </ul>
  );
}

export function Rules(): JSX.Element {
  const list = useApi((read) => get<RuleRow[]>('/rules', read), 'rules', 5000);
  const { run, status } = useAction();
  const create = useCreating('Create rule', CreateRule, list.reload);
  const [deleting, setDeleting] = useState<RuleRow | undefined>(undefined);
  const missing = list.error?.status === 404;
  return (
    <section>
      <PageHead title="Rules">{create.button}</PageHead>
      {create.form}
      {status}
      {missing ? (
        <div class="banner banner-info" role="status">
          <strong>The rule engine is not available on this cluster.</strong> <span>GET /api/v4/rules is not served by this gateway.</span>
        </div>
      ) : (
        <>
          <Failure error={list.error} />
          <Table
            label="rules"
            rows={list.error ? [] : list.answer?.data}
            rowKey={(r) => r.id}
            empty="No rules."
            columns={[
              { title: 'ID', cell: (r) => <code class="id">{r.id}</code> },
              { title: 'For', cell: (r) => r.for.join(', ') },
              { title: 'SQL', cell: (r) => <code class="sql">{r.rawsql}</code> },
              { title: 'Enabled', cell: (r) => (r.enabled ? 'yes' : 'no') },
              { title: 'Description', cell: (r) => <span class="wrap">{r.description}</span> },
              { title: 'Matched (speed /s)', cell: (r) => <PerNode rows={r.metrics} show={(m) => `${m.matched} (${m.speed})`} /> },
              {
                title: 'Actions (success / failed)',
                cell: (r) =>
                  r.actions.map((a) => (
                    <div key={a.id} class="rule-action">
                      <code>{a.name}</code>
                      <PerNode rows={a.metrics} show={(m) => `${m.success} / ${m.failed}`} />
                    </div>
                  )),
              },
              {
                title: 'Manage',
                cell: (r) => (
                  <span class="actions">
                    <button type="button" class={r.enabled ? 'on' : undefined} aria-label={`${r.enabled ? 'disable' : 'enable'} ${r.id}`} onClick={() => run(`${r.enabled ? 'Disable' : 'Enable'} ${r.id}`, () => api('PUT', `/rules/${enc(r.id)}`, { enabled: !r.enabled }), list.reload)}>
                      {r.enabled ? 'Disable' : 'Enable'}
                    </button>
                    <button type="button" class="danger" aria-label={`delete ${r.id}`} onClick={() => setDeleting(r)}>
                      Delete
                    </button>
                  </span>
                ),
              },
            ]}
          />
        </>
      )}
      {deleting ? (
        <Confirm title={`Delete rule ${deleting.id}?`} confirm="Delete" onClose={() => setDeleting(undefined)} onConfirm={() => run(`Delete ${deleting.id}`, () => api('DELETE', `/rules/${enc(deleting.id)}`), list.reload)}>
          <p>
            Its SQL <code>{deleting.rawsql}</code> stops running on every node.
          </p>
        </Confirm>
      ) : null}
    </section>
  );
}
