/** `metrics`, `stats`, `alarms`, `listeners`: what the nodes count and report, cluster-wide or on one node. */
import { Argument, type Command } from 'commander';
import { action } from '../context.js';
import { counts, epochMicros, table, type Column } from '../format.js';
import { perNodeMaps, perNodeRows } from './per-node.js';

interface AlarmRow {
  name: string;
  message: string;
  details: unknown;
  activated: boolean;
  activate_at: number;
  deactivate_at: number | string;
}

interface ListenerRow {
  protocol: string;
  listen_on: string;
  current_conns: number;
  max_conns: number;
  acceptors: number;
  shutdown_count: unknown;
}

/** One row per name, one column per node: how metrics and stats read side by side. */
function matrix(maps: { node: string; map: Record<string, unknown> }[]): string {
  const names = [...new Set(maps.flatMap((m) => Object.keys(m.map)))].sort();
  const columns: Column<string>[] = [{ header: 'NAME', value: (n) => n }, ...maps.map((m): Column<string> => ({ header: m.node, value: (n) => m.map[n], align: 'right' }))];
  return table(names, columns);
}

/** `metrics` or `stats`: name → number per node. */
function countersCommand(program: Command, name: 'metrics' | 'stats', description: string): void {
  program
    .command(name)
    .description(description)
    .option('--node <node>', 'only this node')
    .action(
      action(async (ctx, opts) => {
        const { data, maps } = await perNodeMaps(ctx, `/${name}`, name, opts.node as string | undefined);
        ctx.print(data, () => matrix(maps));
      }),
    );
}

export function observeCommands(program: Command): void {
  countersCommand(program, 'metrics', 'every EMQX metric (counters: bytes, packets, messages, ...) per node');
  countersCommand(program, 'stats', 'every EMQX stat (connections, sessions, topics, ... with their .max) per node');

  program
    .command('alarms')
    .description('alarms raised by the nodes: all, or only the activated or deactivated ones')
    .addArgument(new Argument('[state]', 'which alarms').choices(['activated', 'deactivated']))
    .option('--node <node>', 'only this node')
    .action(
      action(async (ctx, opts, state) => {
        const path = state === undefined ? '/alarms' : `/alarms/${state}`;
        const { data, rows } = await perNodeRows<AlarmRow>(ctx, path, 'alarms', opts.node as string | undefined);
        ctx.print(data, () =>
          table(rows, [
            { header: 'NODE', value: (a) => a.node },
            { header: 'NAME', value: (a) => a.name },
            { header: 'ACTIVATED', value: (a) => a.activated },
            { header: 'ACTIVATE AT', value: (a) => epochMicros(a.activate_at) },
            { header: 'DEACTIVATE AT', value: (a) => epochMicros(a.deactivate_at) },
            { header: 'MESSAGE', value: (a) => a.message },
            { header: 'DETAILS', value: (a) => a.details },
          ]),
        );
      }),
    );

  program
    .command('listeners')
    .description("the nodes' listeners: connections, limits, why connections closed")
    .option('--node <node>', 'only this node')
    .action(
      action(async (ctx, opts) => {
        const { data, rows } = await perNodeRows<ListenerRow>(ctx, '/listeners', 'listeners', opts.node as string | undefined);
        ctx.print(data, () =>
          table(rows, [
            { header: 'NODE', value: (l) => l.node },
            { header: 'PROTOCOL', value: (l) => l.protocol },
            { header: 'LISTEN ON', value: (l) => l.listen_on },
            { header: 'CONNECTIONS', value: (l) => l.current_conns },
            { header: 'MAX', value: (l) => l.max_conns },
            { header: 'ACCEPTORS', value: (l) => l.acceptors },
            { header: 'SHUTDOWNS', value: (l) => counts(l.shutdown_count) },
          ]),
        );
      }),
    );
}
