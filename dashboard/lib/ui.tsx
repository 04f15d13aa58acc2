// Shared pieces of the pages: failure banners, tables, pager, confirmation dialog.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, RPC_ERROR, type Page } from './api.js';

/** A failure said plainly; a node that did not answer (101) is named, so the operator knows the table is not just empty. */
export function Failure({ error }: { error: ApiFailure | undefined }): JSX.Element | null {
  if (!error) return null;
  if (error.code === RPC_ERROR) {
    return (
      <div class="banner banner-down" role="alert">
        <strong>{error.node ? `Node ${error.node} is down or not answering.` : 'A node is down or not answering.'}</strong> <span>{error.message}</span>
      </div>
    );
  }
  return (
    <div class="banner banner-error" role="alert">
      <strong>Request failed:</strong> <span>{error.message}</span>
    </div>
  );
}

export interface Column<R> {
  title: string;
  cell: (row: R) => ComponentChildren;
}

/** A table that scrolls sideways on a narrow screen instead of squeezing its columns. */
export function Table<R>({ rows, columns, empty, label, rowKey }: { rows: R[] | undefined; columns: Column<R>[]; empty: string; label: string; rowKey: (r: R, i: number) => string }): JSX.Element {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={label}>
      <table>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c.title}>
                {c.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows && rows.length > 0 ? (
            rows.map((r, i) => (
              <tr key={rowKey(r, i)}>
                {columns.map((c) => (
                  <td key={c.title}>{c.cell(r)}</td>
                ))}
              </tr>
            ))
          ) : (
            <tr>
              <td class="empty" colSpan={columns.length}>
                {rows ? empty : 'Loading…'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** Previous/next over a paged list; a count of -1 (not known) leaves "next" to whether the page was full. */
export function Pager({ meta, shown, onPage }: { meta: Page | undefined; shown: number; onPage: (p: number) => void }): JSX.Element | null {
  if (!meta) return null;
  const known = meta.count >= 0;
  const pages = known ? Math.max(1, Math.ceil(meta.count / meta.limit)) : undefined;
  const more = pages !== undefined ? meta.page < pages : shown >= meta.limit;
  return (
    <nav class="pager" aria-label="pages of the list">
      <button type="button" disabled={meta.page <= 1} onClick={() => onPage(meta.page - 1)}>
        ‹ Previous
      </button>
      <span>{pages !== undefined ? `Page ${meta.page} of ${pages} (${meta.count} in all)` : `Page ${meta.page}`}</span>
      <button type="button" disabled={!more} onClick={() => onPage(meta.page + 1)}>
        Next ›
      </button>
    </nav>
  );
}

/**
 * A modal confirmation. The native <dialog> opened with showModal() makes the rest of the
 * page inert (focus stays inside) and closes on Escape; focus returns where it was.
 */
export function Confirm({ title, children, confirm, onConfirm, onClose }: { title: string; children: ComponentChildren; confirm: string; onConfirm: () => void; onClose: () => void }): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    ref.current?.showModal();
    return () => before?.focus();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" onClose={onClose}>
      <h2 id="dialog-title">{title}</h2>
      <div class="dialog-body">{children}</div>
      <div class="dialog-actions">
        <button type="button" onClick={() => ref.current?.close()} autofocus>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          onClick={() => {
            onConfirm();
            ref.current?.close();
          }}
        >
          {confirm}
        </button>
      </div>
    </dialog>
  );
}

/** Runs an API action, then says how it went (success or the failure) in a live region. */
export function useAction(): { run: (what: string, f: () => Promise<unknown>, then?: () => void) => void; status: JSX.Element | null } {
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const run = (what: string, f: () => Promise<unknown>, then?: () => void): void => {
    f().then(
      () => {
        setMsg({ ok: true, text: `${what}: done` });
        then?.();
      },
      (e: unknown) => setMsg({ ok: false, text: `${what}: ${e instanceof ApiFailure ? e.message : String(e)}` }),
    );
  };
  const status = msg ? (
    <p class={msg.ok ? 'status ok' : 'status bad'} role="status">
      {msg.text}
    </p>
  ) : null;
  return { run, status };
}

export function PageHead({ title, children }: { title: string; children?: ComponentChildren }): JSX.Element {
  return (
    <header class="page-head">
      <h1>{title}</h1>
      {children ? <div class="page-tools">{children}</div> : null}
    </header>
  );
}

/** Seconds since the epoch (EMQX's times) or a date string, as local time. */
export function time(v: unknown): string {
  if (typeof v === 'number') return new Date(v < 1e12 ? v * 1000 : v).toLocaleString();
  return typeof v === 'string' ? v : '';
}

export const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** A labelled text input bound to a value. */
export function Field({ label, value, onValue, required, name }: { label: string; value: string; onValue: (v: string) => void; required?: boolean; name?: string }): JSX.Element {
  return (
    <label>
      {label}
      <input name={name} required={required} value={value} onInput={(e) => onValue(e.currentTarget.value)} />
    </label>
  );
}

/** A form's submit button, and any others beside it. */
export function FormActions({ submit, children }: { submit: string; children?: ComponentChildren }): JSX.Element {
  return (
    <div class="filter-actions">
      <button type="submit" class="primary">
        {submit}
      </button>
      {children}
    </div>
  );
}
