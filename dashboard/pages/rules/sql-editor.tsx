// The rule SQL's editor: a monospace textarea, and under it the parse error placed where
// the engine found it (its 108 message carries "line L, column C"): the line shown with
// a caret under the column.
import type { JSX } from 'preact';

/** The position a 108 message names, if any. */
export function positionOf(message: string): { line: number; column: number } | undefined {
  const m = /line (\d+), column (\d+)/.exec(message);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : undefined;
}

export function SqlEditor({ value, onValue, error }: { value: string; onValue: (v: string) => void; error: string | undefined }): JSX.Element {
  const at = error ? positionOf(error) : undefined;
  const line = at ? (value.split('\n')[at.line - 1] ?? '') : undefined;
  return (
    <div class="sql-editor">
      <label for="rule-sql">SQL</label>
      <textarea id="rule-sql" name="rawsql" class="mono" rows={6} spellcheck={false} required aria-invalid={error ? 'true' : undefined} aria-describedby={error ? 'sql-error' : undefined} value={value} onInput={(e) => onValue(e.currentTarget.value)} />
      {error ? (
        <div id="sql-error" class="sql-error" role="alert">
          <p>{error}</p>
          {at && line !== undefined ? (
            <pre class="sql-mark" aria-label={`line ${at.line}, column ${at.column}`}>
              <span class="sql-line-no">{at.line} | </span>
              <mark class="sql-line">{line || ' '}</mark>
              {'\n'}
              <span class="sql-line-no">{' '.repeat(String(at.line).length)} | </span>
              <span class="sql-caret">{`${' '.repeat(Math.max(0, at.column - 1))}^`}</span>
            </pre>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
