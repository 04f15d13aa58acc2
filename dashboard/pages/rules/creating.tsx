// A list page's "Create …" button and the form it opens (rules and resources): the form
// closes on cancel, or on success, and then the list reloads.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

export interface FormProps {
  onCreated: () => void;
  onCancel: () => void;
}

export function useCreating(label: string, Form: (p: FormProps) => JSX.Element, reload: () => void): { button: JSX.Element | null; form: JSX.Element | null } {
  const [open, setOpen] = useState(false);
  const button = open ? null : (
    <button type="button" class="primary" onClick={() => setOpen(true)}>
      {label}
    </button>
  );
  const form = open ? (
    <Form
      onCancel={() => setOpen(false)}
      onCreated={() => {
        setOpen(false);
        reload();
      }}
    />
  ) : null;
  return { button, form };
}

/** A create form's end: why it failed (a refusal the API explained), then Create and Cancel. */
export function FormEnd({ failure, onCancel, disabled }: { failure: string | undefined; onCancel: () => void; disabled?: boolean }): JSX.Element {
  return (
    <>
      {failure ? (
        <p class="status bad" role="alert">
          {failure}
        </p>
      ) : null}
      <div class="filter-actions">
        <button type="submit" class="primary" disabled={disabled}>
          Create
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}
