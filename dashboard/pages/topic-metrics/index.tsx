import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, get } from '../../lib/api.js';
import { useApi } from '../../lib/poll.js';
import { Failure, Field, FormActions, PageHead, Table, useAction } from '../../lib/ui.js';

interface TopicMetrics {
  topic: string;
  metrics: Record<string, number>;
}

const n = (m: Record<string, number>, k: string): string => {
  const v = m[k];
  return v === undefined ? '' : Number.isInteger(v) ? String(v) : v.toFixed(2);
};

/** Counters and rates of the topics registered with the topic metrics module; register or remove one. */
export function TopicMetricsPage(): JSX.Element {
  const list = useApi((read) => get<TopicMetrics[]>('/topic-metrics', read), 'tm', 5000);
  const { run, status } = useAction();
  const [topic, setTopic] = useState('');
  return (
    <section>
      <PageHead title="Topic metrics" />
      <form
        class="filters"
        aria-label="add a topic"
        onSubmit={(e) => {
          e.preventDefault();
          run(`Add ${topic}`, () => api('POST', '/topic-metrics', { topic }), list.reload);
        }}
      >
        <Field label="Topic" required value={topic} onValue={(v) => setTopic(v)} />
        <FormActions submit="Add" />
      </form>
      {status}
      <Failure error={list.error} />
      <Table
        label="topic metrics"
        rows={list.error ? [] : list.answer?.data}
        rowKey={(t) => t.topic}
        empty="No topic registered."
        columns={[
          { title: 'Topic', cell: (t) => t.topic },
          { title: 'In (count)', cell: (t) => n(t.metrics, 'messages.in.count') },
          { title: 'In /s', cell: (t) => n(t.metrics, 'messages.in.rate') },
          { title: 'Out (count)', cell: (t) => n(t.metrics, 'messages.out.count') },
          { title: 'Out /s', cell: (t) => n(t.metrics, 'messages.out.rate') },
          { title: 'Dropped', cell: (t) => n(t.metrics, 'messages.dropped.count') },
          {
            title: 'Action',
            cell: (t) => (
              <button type="button" onClick={() => run(`Remove ${t.topic}`, () => api('DELETE', `/topic-metrics/${enc(t.topic)}`), list.reload)}>
                Remove
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}
