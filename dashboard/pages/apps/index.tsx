import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, Field, FormActions, PageHead, Table, time, useAction } from '../../lib/ui.js';

interface App {
  app_id: string;
  name: string;
  desc: string;
  status: boolean;
  expired: number | 'undefined';
}

/** The API apps (the dashboard's own logins too): create one (its secret is shown once), enable, disable, delete. */
export function Apps(): JSX.Element {
  const list = useApi((read) => get<App[]>('/apps', read), 'apps', 15000);
  const { run, status } = useAction();
  const [form, setForm] = useState({ app_id: '', name: '', desc: '' });
  const [secret, setSecret] = useState<{ id: string; secret: string } | undefined>(undefined);
  const add = (e: Event): void => {
    e.preventDefault();
    const id = form.app_id;
    run(`Create ${id}`, async () => setSecret({ id, secret: (await api<{ secret: string }>('POST', '/apps', { ...form, status: true })).data.secret }), list.reload);
  };
  return (
    <section>
      <PageHead title="Apps" />
      <form class="filters" onSubmit={add} aria-label="create an app">
        <Field label="AppID" required value={form.app_id} onValue={(v) => setForm({ ...form, app_id: v })} />
        <Field label="Name" required value={form.name} onValue={(v) => setForm({ ...form, name: v })} />
        <Field label="Description" value={form.desc} onValue={(v) => setForm({ ...form, desc: v })} />
        <FormActions submit="Create" />
      </form>
      {status}
      {secret ? (
        <p class="status ok" role="status">
          AppSecret of {secret.id} (shown only now): <code>{secret.secret}</code>
        </p>
      ) : null}
      <Failure error={list.error} />
      <Table
        label="apps"
        rows={list.answer?.data}
        rowKey={(a) => a.app_id}
        empty="No app."
        columns={[
          { title: 'AppID', cell: (a) => a.app_id },
          { title: 'Name', cell: (a) => a.name },
          { title: 'Description', cell: (a) => a.desc },
          { title: 'Expires', cell: (a) => (typeof a.expired === 'number' ? time(a.expired) : 'never') },
          {
            title: 'Status',
            cell: (a) => (
              <button type="button" aria-label={`${a.status ? 'disable' : 'enable'} ${a.app_id}`} onClick={() => run(`${a.status ? 'Disable' : 'Enable'} ${a.app_id}`, () => api('PUT', `/apps/${enc(a.app_id)}`, { name: a.name, desc: a.desc, status: !a.status }), list.reload)}>
                {a.status ? 'enabled' : 'disabled'}
              </button>
            ),
          },
          {
            title: 'Action',
            cell: (a) => (
              <button type="button" class="danger" onClick={() => run(`Delete ${a.app_id}`, () => api('DELETE', `/apps/${enc(a.app_id)}`), list.reload)}>
                Delete
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}
