import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { enc, get, query } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, Field, FormActions, PageHead, Pager, Table } from '../../lib/ui.js';

interface Sub {
  node: string;
  clientid: string;
  topic: string;
  qos: number;
}

/** Every subscription in the cluster, paged, filtered by topic or client id. */
export function Subscriptions(): JSX.Element {
  const [draft, setDraft] = useState({ topic: '', clientid: '' });
  const [f, setF] = useState(draft);
  const [page, setPage] = useState(1);
  const q = query({ _page: page, _limit: 20, ...f });
  const list = useApi((read) => get<Sub[]>(`/subscriptions${q}`, read), q, 5000);
  return (
    <section>
      <PageHead title="Subscriptions" />
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(1);
          setF(draft);
        }}
      >
        <Field label="Topic" value={draft.topic} onValue={(v) => setDraft({ ...draft, topic: v })} />
        <Field label="Client ID" value={draft.clientid} onValue={(v) => setDraft({ ...draft, clientid: v })} />
        <FormActions submit="Search" />
      </form>
      <Failure error={list.error} />
      <Table
        label="subscriptions"
        rows={list.error ? [] : list.answer?.data}
        rowKey={(s) => `${s.node}/${s.clientid}/${s.topic}`}
        empty="No subscription."
        columns={[
          { title: 'Client ID', cell: (s) => <a href={`#/clients/${enc(s.clientid)}`}>{s.clientid}</a> },
          { title: 'Topic', cell: (s) => s.topic },
          { title: 'QoS', cell: (s) => s.qos },
          { title: 'Node', cell: (s) => s.node },
        ]}
      />
      <Pager meta={list.answer?.meta} shown={list.answer?.data.length ?? 0} onPage={setPage} />
    </section>
  );
}
