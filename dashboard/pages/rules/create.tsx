// Creating a rule: its SQL (a parse error shown at its position), its actions picked from
// GET /actions with a form from each one's params schema, a test of the SQL against a
// sample message (POST /rules?test=true: nothing runs, nothing is stored), then POST /rules.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiFailure, get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, Field } from '../../lib/ui.js';
import { FormEnd, type FormProps } from './creating.js';
import { defaults, ParamsForm, typed, type Schema, type Values } from './params-form.js';
import { SqlEditor } from './sql-editor.js';

interface ActionRow {
  name: string;
  for: string;
  title: { en: string };
  description: { en: string };
  params: Schema;
}

interface Picked {
  name: string;
  values: Values;
}

const SAMPLE = { topic: 't/a', payload: '{"msg": "hello"}', clientid: 'c_emqx', username: 'u_emqx', qos: '1' };

export function CreateRule({ onCreated, onCancel }: FormProps): JSX.Element {
  const actions = useApi(() => get<ActionRow[]>('/actions'), 'actions');
  const resources = useApi(() => get<{ id: string; type: string; description: string }[]>('/resources'), 'resources');
  const [sql, setSql] = useState('SELECT * FROM "t/#"');
  const [sqlError, setSqlError] = useState<string | undefined>(undefined);
  const [description, setDescription] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [picked, setPicked] = useState<Picked[]>([]);
  const [adding, setAdding] = useState('');
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [sample, setSample] = useState(SAMPLE);
  const [output, setOutput] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const rows = actions.answer?.data ?? [];
  const schemaOf = (name: string): Schema => rows.find((a) => a.name === name)?.params ?? {};
  const resourceChoices = { $resource: (resources.answer?.data ?? []).map((r) => ({ value: r.id, label: `${r.id} (${r.type}${r.description ? `: ${r.description}` : ''})` })) };

  /** A 108 about the SQL goes under the editor; anything else above the buttons. */
  const fail = (e: unknown): void => {
    const msg = e instanceof ApiFailure ? e.message : String(e);
    if (/SQL/.test(msg)) setSqlError(msg);
    else setFailure(msg);
  };

  const test = (): void => {
    setOutput(undefined);
    setSqlError(undefined);
    const ctx = { ...sample, qos: Number(sample.qos) };
    api<unknown>('POST', '/rules?test=true', { rawsql: sql, ctx }).then(
      (a) => setOutput({ ok: true, text: JSON.stringify(a.data, null, 2) }),
      (e: unknown) => {
        if (e instanceof ApiFailure && e.code === 404) setOutput({ ok: false, text: e.message });
        else fail(e);
      },
    );
  };

  const submit = (e: Event): void => {
    e.preventDefault();
    setSqlError(undefined);
    setFailure(undefined);
    let body;
    try {
      body = { rawsql: sql, description, enabled, actions: picked.map((p) => ({ name: p.name, params: typed(schemaOf(p.name), p.values) })) };
    } catch (err) {
      setFailure((err as Error).message);
      return;
    }
    api('POST', '/rules', body).then(onCreated, fail);
  };

  return (
    <form class="card rule-form" onSubmit={submit} aria-label="create a rule">
      <h2>New rule</h2>
      <SqlEditor value={sql} onValue={setSql} error={sqlError} />

      <fieldset class="sample">
        <legend>Test against a sample message</legend>
        <div class="params">
          <Field label="topic" name="sample-topic" value={sample.topic} onValue={(v) => setSample({ ...sample, topic: v })} />
          <Field label="clientid" name="sample-clientid" value={sample.clientid} onValue={(v) => setSample({ ...sample, clientid: v })} />
          <Field label="username" name="sample-username" value={sample.username} onValue={(v) => setSample({ ...sample, username: v })} />
          <label>
            qos
            <select name="sample-qos" value={sample.qos} onChange={(e) => setSample({ ...sample, qos: e.currentTarget.value })}>
              <option value="0">0</option>
              <option value="1">1</option>
              <option value="2">2</option>
            </select>
          </label>
          <label class="wide">
            payload
            <textarea name="sample-payload" class="mono" rows={2} value={sample.payload} onInput={(e) => setSample({ ...sample, payload: e.currentTarget.value })} />
          </label>
        </div>
        <button type="button" onClick={test}>
          Test SQL
        </button>
        {output ? (
          <div class={output.ok ? 'test-output ok' : 'test-output bad'} role="status" aria-label="test output">
            <strong>{output.ok ? 'Output' : 'No output'}</strong>
            <pre class="mono">{output.text}</pre>
          </div>
        ) : null}
      </fieldset>

      <fieldset>
        <legend>Actions</legend>
        <Failure error={actions.error} />
        {picked.map((p, i) => (
          <div class="action-card" key={`${p.name}-${i}`}>
            <div class="action-head">
              <strong>{rows.find((a) => a.name === p.name)?.title.en ?? p.name}</strong> <code>{p.name}</code>
              <button type="button" class="danger" onClick={() => setPicked(picked.filter((_, j) => j !== i))}>
                Remove
              </button>
            </div>
            <ParamsForm idPrefix={`action-${i}`} schema={schemaOf(p.name)} values={p.values} choices={resourceChoices} onValues={(values) => setPicked(picked.map((q, j) => (j === i ? { ...q, values } : q)))} />
          </div>
        ))}
        <div class="add-action">
          <label>
            Action
            <select name="add-action" value={adding} onChange={(e) => setAdding(e.currentTarget.value)}>
              <option value="">choose an action…</option>
              {rows.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.title.en} ({a.name})
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={adding === ''} onClick={() => (setPicked([...picked, { name: adding, values: defaults(schemaOf(adding)) }]), setAdding(''))}>
            Add action
          </button>
        </div>
      </fieldset>

      <div class="params">
        <Field label="Description" name="description" value={description} onValue={setDescription} />
        <label class="check">
          <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} /> Enabled
        </label>
      </div>
      <FormEnd failure={failure} onCancel={onCancel} />
    </form>
  );
}
