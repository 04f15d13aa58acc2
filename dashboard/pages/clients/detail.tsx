import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Confirm, Failure, PageHead, Table, text, time, useAction } from '../../lib/ui.js';
import type { ClientRow } from './index.js';

interface Sub {
  node: string;
  clientid: string;
  topic: string;
  qos: number;
}
interface AclEntry {
  access: string;
  topic: string;
  result: string;
  updated_time: number;
}

/** One client: every field the API gives, its subscriptions and ACL cache, and kick (after a confirmation). */
export function ClientDetail({ clientid }: { clientid: string }): JSX.Element {
  const id = enc(clientid);
  const client = useApi((read) => get<ClientRow[]>(`/clients/${id}`, read), `c:${clientid}`, 5000);
  const subs = useApi((read) => get<Sub[]>(`/subscriptions/${id}`, read), `s:${clientid}`, 5000);
  const acl = useApi((read) => get<AclEntry[]>(`/clients/${id}/acl_cache`, read), `a:${clientid}`, 5000);
  const [asking, setAsking] = useState(false);
  const { run, status } = useAction();
  const row = client.answer?.data[0];
  return (
    <section>
      <PageHead title={`Client ${clientid}`}>
        <a href="#/clients">Back to clients</a>
        <button type="button" class="danger" disabled={!row} onClick={() => setAsking(true)}>
          Kick
        </button>
      </PageHead>
      {status}
      <Failure error={client.error} />
      {client.answer && !row ? <p class="status">This client is not connected (or no longer exists).</p> : null}
      {row ? (
        <dl class="fields">
          {Object.entries(row).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{k.endsWith('_at') ? time(v) : text(v)}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      <h2>Subscriptions</h2>
      <Failure error={subs.error} />
      <Table label="subscriptions" rows={subs.answer?.data} rowKey={(s) => `${s.node}/${s.topic}`} empty="No subscription." columns={[{ title: 'Topic', cell: (s) => s.topic }, { title: 'QoS', cell: (s) => s.qos }, { title: 'Node', cell: (s) => s.node }]} />
      <h2>ACL cache</h2>
      <Failure error={acl.error} />
      <Table
        label="ACL cache"
        rows={acl.answer?.data}
        rowKey={(a, i) => `${a.access}/${a.topic}/${i}`}
        empty="Nothing cached."
        columns={[{ title: 'Topic', cell: (a) => a.topic }, { title: 'Access', cell: (a) => a.access }, { title: 'Result', cell: (a) => a.result }, { title: 'Updated', cell: (a) => time(a.updated_time) }]}
      />
      {asking ? (
        <Confirm title="Kick this client?" confirm="Kick" onClose={() => setAsking(false)} onConfirm={() => run(`Kick ${clientid}`, () => api('DELETE', `/clients/${id}`), client.reload)}>
          <p>
            The connection of <strong>{clientid}</strong> is closed now. A client that reconnects by itself comes back.
          </p>
        </Confirm>
      ) : null}
    </section>
  );
}
