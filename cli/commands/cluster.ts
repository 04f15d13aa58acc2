/** `status` (the load balancers' health check) and `cluster` (the nodes), as emqx_ctl's status and cluster status. */
import type { Command } from 'commander';
import type { NodeRow } from '../../shared/api/nodes.js';
import { action } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { table } from '../format.js';

export function statusCommands(program: Command): void {
  program
    .command('status')
    .description(`whether the cluster serves: the gateway's GET /status (exit ${EXIT.UNREACHABLE} when no node answers)`)
    .action(
      action(async (ctx) => {
        const s = await ctx.api.status();
        ctx.print(s, () => s.text);
        if (!s.running) throw new CliError(EXIT.UNREACHABLE, 'no node of the cluster answers the gateway (GET /status is 503)');
      }),
    );

  program
    .command('cluster')
    .description('the nodes of the cluster: status, version, uptime, connections')
    .action(
      action(async (ctx) => {
        const { data } = await ctx.api.get('/nodes');
        const rows = data as NodeRow[];
        ctx.print(data, () =>
          table(rows, [
            { header: 'NODE', value: (r) => r.node },
            { header: 'STATUS', value: (r) => r.node_status },
            { header: 'VERSION', value: (r) => r.version },
            { header: 'UPTIME', value: (r) => r.uptime },
            { header: 'CONNECTIONS', value: (r) => r.connections },
            { header: 'MEMORY', value: (r) => `${r.memory_used}/${r.memory_total}` },
            { header: 'LOAD1', value: (r) => r.load1 },
          ]),
        );
      }),
    );
}
