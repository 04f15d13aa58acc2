import type { JSX } from 'preact';
import { api, enc, get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, PageHead, Table, useAction } from '../../lib/ui.js';

interface Plugin {
  name: string;
  version: string;
  description: string;
  active: boolean;
  type?: string;
}

/** Each node's plugins (GET /plugins: one entry per node), loaded or unloaded on that node; state and switch first, so a phone shows them without scrolling. */
export function Plugins(): JSX.Element {
  const list = useApi((read) => get<{ node: string; plugins: Plugin[] }[]>('/plugins', read), 'plugins', 5000);
  const { run, status } = useAction();
  return (
    <section>
      <PageHead title="Plugins" />
      {status}
      <Failure error={list.error} />
      {(list.error ? [] : (list.answer?.data ?? [])).map((n) => (
        <div key={n.node}>
          <h2>{n.node}</h2>
          <Table
            label={`plugins on ${n.node}`}
            rows={n.plugins}
            rowKey={(p) => p.name}
            empty="No plugin."
            columns={[
              { title: 'Plugin', cell: (p) => p.name },
              { title: 'State', cell: (p) => <span class={p.active ? 'pill up' : 'pill'}>{p.active ? 'loaded' : 'unloaded'}</span> },
              {
                title: 'Action',
                cell: (p) => {
                  const op = p.active ? 'unload' : 'load';
                  return (
                    <button type="button" data-plugin={p.name} data-node={n.node} aria-label={`${op} ${p.name} on ${n.node}`} onClick={() => run(`${op} ${p.name} on ${n.node}`, () => api('PUT', `/nodes/${enc(n.node)}/plugins/${enc(p.name)}/${op}`), list.reload)}>
                      {p.active ? 'Unload' : 'Load'}
                    </button>
                  );
                },
              },
              { title: 'Version', cell: (p) => p.version },
              { title: 'Description', cell: (p) => p.description },
            ]}
          />
        </div>
      ))}
    </section>
  );
}
