import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: number[];
}

/** A uPlot line chart over shared x values, redrawn in place when `version` changes; it follows its box's width. */
export function Chart({ title, t, series, version }: { title: string; t: number[]; series: Series[]; version: number }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current!;
    plot.current = new uPlot(
      {
        width: el.clientWidth || 300,
        height: 220,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { size: 4 } }))],
        axes: [{ space: 90 }, { size: 60 }],
        // at least a minute wide, so the first samples do not stretch over years
        scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        legend: { live: true },
      },
      [t.slice(), ...series.map((s) => s.values.slice())],
      el,
    );
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => {
    // copies: uPlot keeps what it is given, and the history arrays grow in place
    plot.current?.setData([t.slice(), ...series.map((s) => s.values.slice())]);
  }, [version]);
  const lastValues = series.map((s) => `${s.label} ${(s.values[s.values.length - 1] ?? 0).toFixed(1)}`).join(', ');
  return (
    <figure class="chart" data-chart={title} data-points={t.length} data-last={series.map((s) => s.values[s.values.length - 1] ?? 0).join(',')}>
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${lastValues}`} />
    </figure>
  );
}
