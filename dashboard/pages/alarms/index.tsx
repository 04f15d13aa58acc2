import type { JSX } from 'preact';
import { api, get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, PageHead, Table, text, time, useAction } from '../../lib/ui.js';

interface Alarm {
  node: string;
  name: string;
  message: string;
  details: Record<string, unknown>;
  activate_at: number;
  deactivate_at: number | 'infinity';
}

/** The API answers one entry per node, each with its alarms: flattened here, the node kept on each. */
function flat(data: { node: string; alarms: Omit<Alarm, 'node'>[] }[]): Alarm[] {
  return data.flatMap((n) => n.alarms.map((a) => ({ ...a, node: n.node })));
}

/** Active alarms (deactivate one) and the history of deactivated ones (clear it). */
export function Alarms(): JSX.Element {
  const active = useApi((read) => get<{ node: string; alarms: Alarm[] }[]>('/alarms/activated', read), 'active', 5000);
  const past = useApi((read) => get<{ node: string; alarms: Alarm[] }[]>('/alarms/deactivated', read), 'past', 10000);
  const { run, status } = useAction();
  const reload = (): void => {
    active.reload();
    past.reload();
  };
  return (
    <section>
      <PageHead title="Alarms" />
      {status}
      <h2>Active</h2>
      <Failure error={active.error} />
      <Table
        label="active alarms"
        rows={active.error ? [] : active.answer && flat(active.answer.data)}
        rowKey={(a) => `${a.node}/${a.name}`}
        empty="No active alarm."
        columns={[
          { title: 'Name', cell: (a) => a.name },
          { title: 'Message', cell: (a) => a.message },
          { title: 'Node', cell: (a) => a.node },
          { title: 'Since', cell: (a) => time(a.activate_at / 1e6) },
          { title: 'Details', cell: (a) => <code>{text(a.details)}</code> },
          {
            title: 'Action',
            cell: (a) => (
              <button type="button" onClick={() => run(`Deactivate ${a.name}`, () => api('POST', '/alarms/deactivated', { node: a.node, name: a.name }), reload)}>
                Deactivate
              </button>
            ),
          },
        ]}
      />
      <h2>History</h2>
      <div class="page-tools">
        <button type="button" onClick={() => run('Clear history', () => api('DELETE', '/alarms/deactivated'), reload)}>
          Clear history
        </button>
      </div>
      <Failure error={past.error} />
      <Table
        label="alarm history"
        rows={past.error ? [] : past.answer && flat(past.answer.data)}
        rowKey={(a, i) => `${a.node}/${a.name}/${i}`}
        empty="No past alarm."
        columns={[
          { title: 'Name', cell: (a) => a.name },
          { title: 'Message', cell: (a) => a.message },
          { title: 'Node', cell: (a) => a.node },
          { title: 'Activated', cell: (a) => time(a.activate_at / 1e6) },
          { title: 'Deactivated', cell: (a) => (typeof a.deactivate_at === 'number' ? time(a.deactivate_at / 1e6) : '') },
        ]}
      />
    </section>
  );
}
