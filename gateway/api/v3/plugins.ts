import type { PluginRow } from '../../../shared/api/plugins.js';
import type { Resource } from '../endpoint.js';
import { plugins as v4Plugins } from '../v4/plugins.js';
import { over, v4 } from './adapt.js';

/** v4's plugin row as v3's: name, version, description, active (v3 has no `type`). */
const row = ({ name, version, description, active }: PluginRow): Record<string, unknown> => ({ name, version, description, active });

/**
 * GET /plugins/, /nodes/{node}/plugins/, PUT /nodes/{node}/plugins/{plugin}/load|unload:
 * v4's (the same switch, kept by the node); refusals in v3's form (gateway/api/v3/errors.ts).
 */
export const plugins: Resource = [
  over(v4(v4Plugins, 'list_all_plugins'), {
    path: '/plugins/',
    name: 'list_all_plugins',
    descr: 'List all plugins in the cluster',
    reply: (r) => ({ data: (r.data as { node: string; plugins: PluginRow[] }[]).map((n) => ({ node: n.node, plugins: n.plugins.map(row) })) }),
  }),
  over(v4(v4Plugins, 'list_node_plugins'), {
    path: '/nodes/:node/plugins/',
    name: 'list_node_plugins',
    descr: 'List all plugins on a node',
    reply: (r) => ({ data: (r.data as PluginRow[]).map(row) }),
  }),
  over(v4(v4Plugins, 'load_node_plugin'), { path: '/nodes/:node/plugins/:plugin/load', name: 'load_plugin', descr: 'Load a plugin' }),
  over(v4(v4Plugins, 'unload_node_plugin'), { path: '/nodes/:node/plugins/:plugin/unload', name: 'unload_plugin', descr: 'Unload a plugin' }),
];
