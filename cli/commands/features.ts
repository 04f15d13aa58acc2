/** `plugins list|load|unload|reload` and `modules list|load|unload|reload`: the nodes' switchable features. */
import type { Command } from 'commander';
import { action, type Ctx } from '../context.js';
import { table } from '../format.js';
import { nodePath, perNodeRows } from './per-node.js';

interface PluginRow {
  name: string;
  version: string;
  description: string;
  active: boolean;
  type: string;
}

type ModuleRow = Omit<PluginRow, 'version' | 'type'>;

const enc = encodeURIComponent;

/** What plugins and modules answer to, as the spec's PUT .../load|unload|reload. */
const VERBS = [
  ['load', 'loaded'],
  ['unload', 'unloaded'],
  ['reload', 'reloaded'],
] as const;

async function put(ctx: Ctx, path: string, done: string): Promise<void> {
  const answer = await ctx.api.call('PUT', path);
  ctx.print(answer, () => done);
}

export function pluginCommands(program: Command): void {
  const plugins = program.command('plugins').description('plugins: features switched on and off per node');

  plugins
    .command('list')
    .description("every node's plugins")
    .option('--node <node>', 'only this node')
    .action(
      action(async (ctx, opts) => {
        const { data, rows } = await perNodeRows<PluginRow>(ctx, '/plugins', 'plugins', opts.node as string | undefined);
        ctx.print(data, () =>
          table(rows, [
            { header: 'NODE', value: (p) => p.node },
            { header: 'NAME', value: (p) => p.name },
            { header: 'VERSION', value: (p) => p.version },
            { header: 'TYPE', value: (p) => p.type },
            { header: 'ACTIVE', value: (p) => p.active },
            { header: 'DESCRIPTION', value: (p) => p.description },
          ]),
        );
      }),
    );

  for (const [verb, done] of VERBS) {
    plugins
      .command(verb)
      .description(`${verb} a plugin on one node`)
      .argument('<node>')
      .argument('<plugin>')
      .action(action((ctx, _opts, node, plugin) => put(ctx, `/nodes/${enc(node)}/plugins/${enc(plugin)}/${verb}`, `plugin ${plugin} ${done} on ${node}`)));
  }
}

export function moduleCommands(program: Command): void {
  const modules = program.command('modules').description('built-in modules: switched on and off cluster-wide or per node');

  modules
    .command('list')
    .description("every node's modules")
    .option('--node <node>', 'only this node')
    .action(
      action(async (ctx, opts) => {
        const { data, rows } = await perNodeRows<ModuleRow>(ctx, '/modules', 'modules', opts.node as string | undefined);
        ctx.print(data, () =>
          table(rows, [
            { header: 'NODE', value: (m) => m.node },
            { header: 'NAME', value: (m) => m.name },
            { header: 'ACTIVE', value: (m) => m.active },
            { header: 'DESCRIPTION', value: (m) => m.description },
          ]),
        );
      }),
    );

  for (const [verb, done] of VERBS) {
    modules
      .command(verb)
      .description(`${verb} a module on every node (or on one with --node)`)
      .argument('<module>')
      .option('--node <node>', 'only on this node')
      .action(
        action((ctx, opts, module) => {
          const node = opts.node as string | undefined;
          return put(ctx, nodePath(`/modules/${enc(module)}/${verb}`, node), `module ${module} ${done} ${node === undefined ? 'on every node' : `on ${node}`}`);
        }),
      );
  }
}
