// A form generated from an action's or resource type's params schema (EMQX's shape:
// {name: {type, required, default, enum, title, description}}), as GET /actions and
// GET /resource_types give it. Values are kept as the inputs' text and typed on submit.
import type { JSX } from 'preact';

export interface ParamSpec {
  type: string;
  required?: boolean;
  default?: unknown;
  enum?: unknown[];
  title?: { en: string };
  description?: { en: string };
}

export type Schema = Record<string, ParamSpec>;
export type Values = Record<string, string>;

/** The inputs' starting text: each param's default (an object as JSON). */
export function defaults(schema: Schema): Values {
  const out: Values = {};
  for (const [k, p] of Object.entries(schema)) out[k] = p.default === undefined ? '' : typeof p.default === 'object' ? JSON.stringify(p.default) : String(p.default);
  return out;
}

/** The params as the API takes them (numbers, booleans, objects typed); throws naming a field whose text is not its type. */
export function typed(schema: Schema, values: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(schema)) {
    const v = values[k] ?? '';
    if (v === '' && !p.required) continue;
    if (p.type === 'number') {
      if (Number.isNaN(Number(v))) throw new Error(`${k} must be a number`);
      out[k] = Number(v);
    } else if (p.type === 'boolean') out[k] = v === 'true';
    else if (p.type === 'object' || p.type === 'array') {
      try {
        out[k] = JSON.parse(v || (p.type === 'array' ? '[]' : '{}'));
      } catch {
        throw new Error(`${k} must be JSON`);
      }
    } else out[k] = v;
  }
  return out;
}

/**
 * The inputs of a schema. `choices` offers a fixed list for a param (the $resource param:
 * the cluster's resources); objects are edited as JSON text.
 */
export function ParamsForm({ schema, values, onValues, choices, idPrefix }: { schema: Schema; values: Values; onValues: (v: Values) => void; choices?: Record<string, { value: string; label: string }[]>; idPrefix: string }): JSX.Element {
  const set = (k: string, v: string): void => onValues({ ...values, [k]: v });
  return (
    <div class="params">
      {Object.entries(schema).map(([k, p]) => {
        const title = p.title?.en ?? k;
        const help = p.description?.en;
        const id = `${idPrefix}-${k}`;
        const options = choices?.[k] ?? (p.enum ? p.enum.map((e) => ({ value: String(e), label: String(e) })) : p.type === 'boolean' ? [{ value: 'true', label: 'true' }, { value: 'false', label: 'false' }] : undefined);
        return (
          <label key={k} for={id} title={help}>
            <span>
              {title} <code>{k}</code>
              {p.required ? ' *' : ''}
            </span>
            {options ? (
              <select id={id} name={k} required={p.required} value={values[k] ?? ''} onChange={(e) => set(k, e.currentTarget.value)}>
                {p.required && !options.some((o) => o.value === values[k]) ? <option value="">choose…</option> : null}
                {options.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            ) : p.type === 'object' || p.type === 'array' || (p.type === 'string' && /tmpl|body/.test(k)) ? (
              <textarea id={id} name={k} class="mono" rows={3} required={p.required} value={values[k] ?? ''} onInput={(e) => set(k, e.currentTarget.value)} />
            ) : (
              <input id={id} name={k} inputMode={p.type === 'number' ? 'decimal' : undefined} required={p.required} value={values[k] ?? ''} onInput={(e) => set(k, e.currentTarget.value)} />
            )}
          </label>
        );
      })}
    </div>
  );
}
