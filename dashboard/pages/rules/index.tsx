import type { JSX } from 'preact';
import { get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, PageHead, Table, text } from '../../lib/ui.js';

/**
 * Rules and resources are the rule engine's (GET /api/v4/rules, /resources). Until a
 * gateway serves them (404), the page says so rather than showing an empty list; once it
 * does, it lists what the API answers.
 */
function EngineList({ title, path }: { title: string; path: string }): JSX.Element {
  const list = useApi(() => get<Record<string, unknown>[]>(path), path, 10000);
  const missing = list.error?.status === 404;
  const rows = list.answer?.data;
  const keys = rows && rows[0] ? Object.keys(rows[0]).slice(0, 6) : ['id'];
  return (
    <section>
      <PageHead title={title} />
      {missing ? (
        <div class="banner banner-info" role="status">
          <strong>The rule engine is not available on this cluster.</strong> <span>GET /api/v4{path} is not served by this gateway.</span>
        </div>
      ) : (
        <>
          <Failure error={list.error} />
          <Table label={title} rows={list.error ? [] : rows} rowKey={(r, i) => text(r.id ?? i)} empty={`No ${title.toLowerCase()}.`} columns={keys.map((k) => ({ title: k, cell: (r: Record<string, unknown>) => text(r[k]) }))} />
        </>
      )}
    </section>
  );
}

export const Rules = (): JSX.Element => <EngineList title="Rules" path="/rules" />;
export const Resources = (): JSX.Element => <EngineList title="Resources" path="/resources" />;
