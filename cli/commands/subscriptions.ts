/** `subscriptions list|add|del`: subscriptions over the cluster, and subscribing a connected client on its node. */
import { Option, type Command } from 'commander';
import type { SubscriptionRow } from '../../shared/api/subscriptions.js';
import { action, pagingOf, pagingOptions, printList, qos } from '../context.js';
import { table } from '../format.js';

export function subscriptionCommands(program: Command): void {
  const subs = program.command('subscriptions').description("clients' subscriptions");

  pagingOptions(
    subs
      .command('list')
      .description('list subscriptions, in node order')
      .option('--clientid <clientid>', "only this client's")
      .option('--topic <filter>', 'only this exact topic filter')
      .option('--node <node>', 'only those on this node'),
  ).action(
    action(async (ctx, opts) => {
      const node = opts.node as string | undefined;
      const paging = pagingOf(opts);
      const path = node === undefined ? '/subscriptions' : `/nodes/${encodeURIComponent(node)}/subscriptions`;
      const r = await ctx.api.list<SubscriptionRow>(path, { clientid: opts.clientid as string | undefined, topic: opts.topic as string | undefined }, paging);
      printList(ctx, r, paging, (rows) =>
        table(rows, [
          { header: 'CLIENTID', value: (s) => s.clientid },
          { header: 'TOPIC', value: (s) => s.topic },
          { header: 'QOS', value: (s) => s.qos },
          { header: 'NODE', value: (s) => s.node },
        ]),
      );
    }),
  );

  subs
    .command('add')
    .description('subscribe a connected client to a topic filter, as if it had sent SUBSCRIBE')
    .argument('<clientid>')
    .argument('<topic>', 'a topic filter ($share/<group>/... too)')
    .addOption(new Option('--qos <qos>', 'the subscription QoS: 0, 1 or 2').default(0).argParser(qos))
    .action(
      action(async (ctx, opts, clientid, topic) => {
        const answer = await ctx.api.call('POST', '/mqtt/subscribe', { body: { clientid, topic, qos: opts.qos } });
        ctx.print(answer, () => `${clientid} subscribed to ${topic} (QoS ${String(opts.qos)})`);
      }),
    );

  subs
    .command('del')
    .description('unsubscribe a connected client from a topic filter')
    .argument('<clientid>')
    .argument('<topic>')
    .action(
      action(async (ctx, _opts, clientid, topic) => {
        const answer = await ctx.api.call('POST', '/mqtt/unsubscribe', { body: { clientid, topic } });
        ctx.print(answer, () => `${clientid} unsubscribed from ${topic}`);
      }),
    );
}
