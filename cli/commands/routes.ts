/** `routes list|show`: which nodes have subscribers for which topic filters. */
import type { Command } from 'commander';
import type { RouteRow } from '../../shared/api/routes.js';
import { action, pagingOf, pagingOptions, printList } from '../context.js';
import { table } from '../format.js';

const COLUMNS = [
  { header: 'TOPIC', value: (r: RouteRow) => r.topic },
  { header: 'NODE', value: (r: RouteRow) => r.node },
];

export function routeCommands(program: Command): void {
  const routes = program.command('routes').description('the cluster route table');

  pagingOptions(routes.command('list').description('list routes, in node order')).action(
    action(async (ctx, opts) => {
      const paging = pagingOf(opts);
      const r = await ctx.api.list<RouteRow>('/routes', {}, paging);
      printList(ctx, r, paging, (rows) => table(rows, COLUMNS));
    }),
  );

  routes
    .command('show')
    .description('the nodes routing one topic filter (matched exactly, as written in SUBSCRIBE)')
    .argument('<topic>')
    .action(
      action(async (ctx, _opts, topic) => {
        const { data } = await ctx.api.get(`/routes/${encodeURIComponent(topic)}`);
        ctx.print(data, () => table(data as RouteRow[], COLUMNS));
      }),
    );
}
