import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { enc, get, query } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, PageHead, Pager, Table, time } from '../../lib/ui.js';
import { ClientDetail } from './detail.js';

export interface ClientRow {
  clientid: string;
  username?: string;
  node: string;
  ip_address: string;
  port: number;
  connected: boolean;
  proto_ver: number;
  keepalive: number;
  clean_start: boolean;
  subscriptions_cnt: number;
  connected_at: string | number;
  zone?: string;
}

const LIMIT = 20;
interface Filters {
  _like_clientid: string;
  _like_username: string;
  ip_address: string;
  conn_state: string;
  proto_ver: string;
  zone: string;
}
const NONE: Filters = { _like_clientid: '', _like_username: '', ip_address: '', conn_state: '', proto_ver: '', zone: '' };

/** The paged client list with EMQX 4.1's filters (fuzzy client id and username), or one client. */
export function Clients({ sub }: { sub: string[] }): JSX.Element {
  if (sub[0]) return <ClientDetail clientid={sub[0]} />;
  return <ClientList />;
}

function ClientList(): JSX.Element {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [page, setPage] = useState(1);
  const q = query({ _page: page, _limit: LIMIT, ...filters });
  const list = useApi((read) => get<ClientRow[]>(`/clients${q}`, read), q, 5000);
  const field = (k: keyof Filters, label: string, el?: JSX.Element): JSX.Element => (
    <label>
      {label}
      {el ?? <input name={k} value={draft[k]} onInput={(e) => setDraft({ ...draft, [k]: e.currentTarget.value })} />}
    </label>
  );
  return (
    <section>
      <PageHead title="Clients" />
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(1);
          setFilters(draft);
        }}
      >
        {field('_like_clientid', 'Client ID contains')}
        {field('_like_username', 'Username contains')}
        {field('ip_address', 'IP address')}
        {field(
          'conn_state',
          'State',
          <select name="conn_state" value={draft.conn_state} onChange={(e) => setDraft({ ...draft, conn_state: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="connected">connected</option>
            <option value="disconnected">disconnected</option>
          </select>,
        )}
        {field(
          'proto_ver',
          'MQTT version',
          <select name="proto_ver" value={draft.proto_ver} onChange={(e) => setDraft({ ...draft, proto_ver: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="3">3.1</option>
            <option value="4">3.1.1</option>
            <option value="5">5</option>
          </select>,
        )}
        {field('zone', 'Zone')}
        <div class="filter-actions">
          <button type="submit" class="primary">
            Search
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(NONE);
              setFilters(NONE);
              setPage(1);
            }}
          >
            Reset
          </button>
        </div>
      </form>
      <Failure error={list.error} />
      <Table
        label="clients"
        rows={list.error ? [] : list.answer?.data}
        rowKey={(c) => `${c.node}/${c.clientid}`}
        empty="No client matches."
        columns={[
          { title: 'Client ID', cell: (c) => <a href={`#/clients/${enc(c.clientid)}`}>{c.clientid}</a> },
          { title: 'Username', cell: (c) => c.username ?? '' },
          { title: 'Node', cell: (c) => c.node },
          { title: 'Address', cell: (c) => `${c.ip_address}:${c.port}` },
          { title: 'State', cell: (c) => (c.connected ? 'connected' : 'disconnected') },
          { title: 'MQTT', cell: (c) => c.proto_ver },
          { title: 'Subscriptions', cell: (c) => c.subscriptions_cnt },
          { title: 'Connected at', cell: (c) => time(c.connected_at) },
        ]}
      />
      <Pager meta={list.answer?.meta} shown={list.answer?.data.length ?? 0} onPage={setPage} />
    </section>
  );
}
