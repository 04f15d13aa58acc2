import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, get, query } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, Field, FormActions, PageHead, Pager, Table, time, useAction } from '../../lib/ui.js';

interface Ban {
  who: string;
  as: string;
  reason: string;
  by: string;
  at: number;
  until: number;
}

/** The ban list: add a client id, username or address for some time, lift a ban. */
export function Banned(): JSX.Element {
  const [page, setPage] = useState(1);
  const q = query({ _page: page, _limit: 20 });
  const list = useApi((read) => get<Ban[]>(`/banned${q}`, read), q, 10000);
  const { run, status } = useAction();
  const [form, setForm] = useState({ who: '', as: 'clientid', reason: '', hours: '24' });
  const add = (e: Event): void => {
    e.preventDefault();
    const now = Math.floor(Date.now() / 1000);
    run(`Ban ${form.who}`, () => api('POST', '/banned', { who: form.who, as: form.as, reason: form.reason, by: 'dashboard', at: now, until: now + Math.round(Number(form.hours) * 3600) }), list.reload);
  };
  return (
    <section>
      <PageHead title="Banned" />
      <form class="filters" onSubmit={add} aria-label="add a ban">
        <Field label="Who" required value={form.who} onValue={(v) => setForm({ ...form, who: v })} />
        <label>
          As
          <select value={form.as} onChange={(e) => setForm({ ...form, as: e.currentTarget.value })}>
            <option value="clientid">client id</option>
            <option value="username">username</option>
            <option value="peerhost">address</option>
          </select>
        </label>
        <Field label="Reason" value={form.reason} onValue={(v) => setForm({ ...form, reason: v })} />
        <label>
          For (hours)
          <input type="number" min="0.01" step="any" required value={form.hours} onInput={(e) => setForm({ ...form, hours: e.currentTarget.value })} />
        </label>
        <FormActions submit="Ban" />
      </form>
      {status}
      <Failure error={list.error} />
      <Table
        label="bans"
        rows={list.error ? [] : list.answer?.data}
        rowKey={(b) => `${b.as}/${b.who}`}
        empty="Nobody is banned."
        columns={[
          { title: 'Who', cell: (b) => b.who },
          { title: 'As', cell: (b) => b.as },
          { title: 'Reason', cell: (b) => b.reason },
          { title: 'By', cell: (b) => b.by },
          { title: 'Since', cell: (b) => time(b.at) },
          { title: 'Until', cell: (b) => time(b.until) },
          {
            title: 'Action',
            cell: (b) => (
              <button type="button" onClick={() => run(`Lift the ban on ${b.who}`, () => api('DELETE', `/banned/${enc(b.as)}/${enc(b.who)}`), list.reload)}>
                Delete
              </button>
            ),
          },
        ]}
      />
      <Pager meta={list.answer?.meta} shown={list.answer?.data.length ?? 0} onPage={setPage} />
    </section>
  );
}
