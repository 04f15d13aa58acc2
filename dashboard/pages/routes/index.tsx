import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { get, query } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, PageHead, Pager, Table } from '../../lib/ui.js';

interface Route {
  topic: string;
  node: string;
}

/** The cluster's routing table: which node has subscribers to which topic filter. */
export function Routes(): JSX.Element {
  const [page, setPage] = useState(1);
  const q = query({ _page: page, _limit: 20 });
  const list = useApi((read) => get<Route[]>(`/routes${q}`, read), q, 5000);
  return (
    <section>
      <PageHead title="Topics and routes" />
      <Failure error={list.error} />
      <Table label="routes" rows={list.error ? [] : list.answer?.data} rowKey={(r) => `${r.node}/${r.topic}`} empty="No route." columns={[{ title: 'Topic', cell: (r) => r.topic }, { title: 'Node', cell: (r) => r.node }]} />
      <Pager meta={list.answer?.meta} shown={list.answer?.data.length ?? 0} onPage={setPage} />
    </section>
  );
}
