import type { JSX } from 'preact';
import { api, enc, get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, PageHead, Table, useAction } from '../../lib/ui.js';

interface Module {
  name: string;
  description: string;
  active: boolean;
}

/** Modules per node, switched cluster-wide (PUT /modules/:m/load|unload) or on one node. */
export function Modules(): JSX.Element {
  const list = useApi((read) => get<{ node: string; modules: Module[] }[]>('/modules', read), 'modules', 5000);
  const { run, status } = useAction();
  const nodes = list.error ? [] : (list.answer?.data ?? []);
  const names = [...new Set(nodes.flatMap((n) => n.modules.map((m) => m.name)))].sort();
  const state = (node: { modules: Module[] }, name: string): Module | undefined => node.modules.find((m) => m.name === name);
  const toggle = (path: string, what: string): void => run(what, () => api('PUT', path), list.reload);
  return (
    <section>
      <PageHead title="Modules" />
      {status}
      <Failure error={list.error} />
      <Table
        label="modules"
        rows={list.answer ? names : undefined}
        rowKey={(n) => n}
        empty="No module."
        columns={[
          { title: 'Module', cell: (name) => name },
          { title: 'Description', cell: (name) => nodes.map((n) => state(n, name)?.description).find(Boolean) ?? '' },
          {
            title: 'Cluster',
            cell: (name) => (
              <span class="actions">
                <button type="button" onClick={() => toggle(`/modules/${enc(name)}/load`, `load ${name} everywhere`)}>
                  Load all
                </button>
                <button type="button" onClick={() => toggle(`/modules/${enc(name)}/unload`, `unload ${name} everywhere`)}>
                  Unload all
                </button>
              </span>
            ),
          },
          ...nodes.map((n) => ({
            title: n.node,
            cell: (name: string) => {
              const m = state(n, name);
              if (!m) return '';
              const op = m.active ? 'unload' : 'load';
              return (
                <button type="button" class={m.active ? 'on' : ''} aria-label={`${op} ${name} on ${n.node}`} onClick={() => toggle(`/nodes/${enc(n.node)}/modules/${enc(name)}/${op}`, `${op} ${name} on ${n.node}`)}>
                  {m.active ? 'loaded' : 'unloaded'}
                </button>
              );
            },
          })),
        ]}
      />
    </section>
  );
}
