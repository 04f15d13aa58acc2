// The rule engine's resources (GET /api/v4/resources): each with its health on every node
// (status[].is_alive); create one from a resource type (a form from GET /resource_types'
// params schema); delete (confirmed; the API refuses while a rule uses it, and says so).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Confirm, Failure, Field, PageHead, Table, text, useAction } from '../../lib/ui.js';
import { FormEnd, useCreating, type FormProps } from '../rules/creating.js';
import { defaults, ParamsForm, typed, type Schema, type Values } from '../rules/params-form.js';

interface ResourceRow {
  id: string;
  type: string;
  description: string;
  config: Record<string, unknown>;
  status: { node: string; is_alive: boolean }[];
}

interface TypeRow {
  name: string;
  title: { en: string };
  description: { en: string };
  params: Schema;
}

function CreateResource({ onCreated, onCancel }: FormProps): JSX.Element {
  const types = useApi(() => get<TypeRow[]>('/resource_types'), 'resource_types');
  const [type, setType] = useState('');
  const [values, setValues] = useState<Values>({});
  const [description, setDescription] = useState('');
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const rows = types.answer?.data ?? [];
  const schema = rows.find((t) => t.name === type)?.params ?? {};
  const submit = (e: Event): void => {
    e.preventDefault();
    setFailure(undefined);
    let config;
    try {
      config = typed(schema, values);
    } catch (err) {
      setFailure((err as Error).message);
      return;
    }
    api('POST', '/resources', { type, config, description }).then(onCreated, (err: unknown) => setFailure((err as Error).message));
  };
  return (
    <form class="card rule-form" onSubmit={submit} aria-label="create a resource">
      <h2>New resource</h2>
      <Failure error={types.error} />
      <div class="params">
        <label>
          Resource type
          <select
            name="type"
            required
            value={type}
            onChange={(e) => {
              const t = e.currentTarget.value;
              setType(t);
              setValues(defaults(rows.find((r) => r.name === t)?.params ?? {}));
            }}
          >
            <option value="">choose a type…</option>
            {rows.map((t) => (
              <option key={t.name} value={t.name}>
                {t.title.en} ({t.name})
              </option>
            ))}
          </select>
        </label>
        <Field label="Description" name="description" value={description} onValue={setDescription} />
      </div>
      {type ? <ParamsForm idPrefix="resource" schema={schema} values={values} onValues={setValues} /> : null}
      <FormEnd failure={failure} onCancel={onCancel} disabled={type === ''} />
    </form>
  );
}

export function Resources(): JSX.Element {
  const list = useApi((read) => get<ResourceRow[]>('/resources', read), 'resources', 10000);
  const { run, status } = useAction();
  const create = useCreating('Create resource', CreateResource, list.reload);
  const [deleting, setDeleting] = useState<ResourceRow | undefined>(undefined);
  return (
    <section>
      <PageHead title="Resources">{create.button}</PageHead>
      {create.form}
      {status}
      <Failure error={list.error} />
      <Table
        label="resources"
        rows={list.error ? [] : list.answer?.data}
        rowKey={(r) => r.id}
        empty="No resources."
        columns={[
          { title: 'ID', cell: (r) => <code class="id">{r.id}</code> },
          { title: 'Type', cell: (r) => r.type },
          { title: 'Description', cell: (r) => r.description },
          {
            title: 'Status',
            cell: (r) => (
              <ul class="per-node">
                {r.status.map((s) => (
                  <li key={s.node}>
                    <span class="node">{s.node}</span> <span class={s.is_alive ? 'alive' : 'dead'}>{s.is_alive ? 'alive' : 'not alive'}</span>
                  </li>
                ))}
              </ul>
            ),
          },
          { title: 'Config', cell: (r) => <code>{text(r.config)}</code> },
          {
            title: 'Manage',
            cell: (r) => (
              <button type="button" class="danger" aria-label={`delete ${r.id}`} onClick={() => setDeleting(r)}>
                Delete
              </button>
            ),
          },
        ]}
      />
      {deleting ? (
        <Confirm title={`Delete resource ${deleting.id}?`} confirm="Delete" onClose={() => setDeleting(undefined)} onConfirm={() => run(`Delete ${deleting.id}`, () => api('DELETE', `/resources/${enc(deleting.id)}`), list.reload)}>
          <p>Every node closes its instance. A resource a rule uses cannot be deleted.</p>
        </Confirm>
      ) : null}
    </section>
  );
}
