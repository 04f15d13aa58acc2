/** `clients list|show|kick`: the connected clients and sessions of the whole cluster, kicked wherever they are. */
import type { Command } from 'commander';
import type { ClientRow } from '../../shared/api/clients.js';
import { action, pagingOf, pagingOptions, printList } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { fields, table } from '../format.js';

/** MQTT's protocol levels as people name the versions. */
const MQTT_VERSION: Record<number, string> = { 3: '3.1', 4: '3.1.1', 5: '5.0' };

const enc = encodeURIComponent;

export function clientCommands(program: Command): void {
  const clients = program.command('clients').description('connected clients and sessions');

  pagingOptions(
    clients
      .command('list')
      .description('list clients, in node order')
      .option('--node <node>', 'only those on this node')
      .option('--username <username>', 'only those with this username')
      .option('--like <text>', 'only those whose clientid contains this'),
  ).action(
    action(async (ctx, opts) => {
      const node = opts.node as string | undefined;
      const paging = pagingOf(opts);
      const path = node === undefined ? '/clients' : `/nodes/${enc(node)}/clients`;
      const r = await ctx.api.list<ClientRow>(path, { username: opts.username as string | undefined, _like_clientid: opts.like as string | undefined }, paging);
      printList(ctx, r, paging, (rows) =>
        table(rows, [
          { header: 'CLIENTID', value: (c) => c.clientid },
          { header: 'USERNAME', value: (c) => c.username },
          { header: 'NODE', value: (c) => c.node },
          { header: 'ADDRESS', value: (c) => `${c.ip_address}:${c.port}` },
          { header: 'PROTOCOL', value: (c) => `${c.proto_name} ${MQTT_VERSION[c.proto_ver] ?? c.proto_ver}` },
          { header: 'CONNECTED', value: (c) => c.connected },
          { header: 'KEEPALIVE', value: (c) => c.keepalive },
          { header: 'SUBSCRIPTIONS', value: (c) => c.subscriptions_cnt },
          { header: 'CONNECTED AT', value: (c) => c.connected_at },
        ]),
      );
    }),
  );

  clients
    .command('show')
    .description('every field of one client (exit 5 when it is not online)')
    .argument('<clientid>')
    .action(
      action(async (ctx, _opts, clientid) => {
        const { data } = await ctx.api.get(`/clients/${enc(clientid)}`);
        const rows = data as ClientRow[];
        // EMQX's lookup answers an empty list for a client it does not know
        if (rows.length === 0) throw new CliError(EXIT.NOT_FOUND, `client ${JSON.stringify(clientid)} is not online (no connection or session in the cluster)`);
        ctx.print(data, () => rows.map((r) => fields(r as unknown as Record<string, unknown>)).join('\n\n'));
      }),
    );

  clients
    .command('kick')
    .description('disconnect a client, on whichever node it is (exit 5 when it is not online)')
    .argument('<clientid>')
    .action(
      action(async (ctx, _opts, clientid) => {
        const answer = await ctx.api.call('DELETE', `/clients/${enc(clientid)}`);
        ctx.print(answer, () => `client ${clientid} kicked`);
      }),
    );
}
