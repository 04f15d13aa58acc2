import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure } from '../../lib/api.js';
import { Failure, PageHead, Table } from '../../lib/ui.js';
import { seenNodes, useNodes, type NodeRow } from '../../lib/nodes.js';
import { Chart } from './chart.js';
import { history, sample, SAMPLE_MS } from './history.js';

/** Nodes with their state (the shell's read of them), and cluster-wide live charts sampled every few seconds. */
export function Overview(): JSX.Element {
  const nodes = useNodes();
  const [version, setVersion] = useState(0);
  const [chartError, setChartError] = useState<ApiFailure | undefined>(undefined);
  useEffect(() => {
    let live = true;
    const step = (): void => {
      sample().then(
        () => {
          if (live) {
            setChartError(undefined);
            setVersion((v) => v + 1);
          }
        },
        (e: unknown) => live && setChartError(e instanceof ApiFailure ? e : new ApiFailure(0, -1, String(e))),
      );
    };
    step();
    const t = setInterval(step, SAMPLE_MS);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);
  // a node seen before and gone from the answer stays listed, as down, rather than vanishing
  const answered = nodes?.answer?.data;
  const rows = answered && [
    ...answered,
    ...seenNodes()
      .filter((n) => !answered.some((a) => a.node === n))
      .map((node): NodeRow => ({ node, node_status: 'Down', uptime: '', version: '', memory_used: '', memory_total: '', connections: 0 })),
  ];
  return (
    <section>
      <PageHead title="Overview" />
      <Failure error={nodes?.error} />
      <h2>Nodes</h2>
      <Table
        label="nodes"
        rows={rows}
        rowKey={(n) => n.node}
        empty="No node is running."
        columns={[
          { title: 'Node', cell: (n) => n.node },
          { title: 'Status', cell: (n) => <span class={n.node_status === 'Running' ? 'pill up' : 'pill down'}>{n.node_status}</span> },
          { title: 'Uptime', cell: (n) => n.uptime },
          { title: 'Version', cell: (n) => n.version },
          { title: 'Memory', cell: (n) => (n.memory_total ? `${n.memory_used} / ${n.memory_total}` : '') },
          { title: 'Connections', cell: (n) => (n.node_status === 'Running' ? n.connections : '') },
        ]}
      />
      <h2>Cluster, last hour</h2>
      <Failure error={chartError} />
      <div class="charts">
        <Chart title="Connections" t={history.t} version={version} series={[{ label: 'connections', color: '#2563eb', values: history.connections }]} />
        <Chart
          title="Messages per second"
          t={history.t}
          version={version}
          series={[
            { label: 'received', color: '#16a34a', values: history.received },
            { label: 'sent', color: '#2563eb', values: history.sent },
            { label: 'dropped', color: '#dc2626', values: history.dropped },
          ]}
        />
      </div>
    </section>
  );
}
