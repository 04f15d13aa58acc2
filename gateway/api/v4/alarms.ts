import type { AlarmList } from '../../../shared/api/alarms.js';
import type { Resource } from '../endpoint.js';
import { ApiError } from '../errors.js';
import { gather, nodeLists, nodePair, type NodePair } from '../node-pair.js';
import { bodySchema } from '../schema.js';
import { CODE } from '../../../shared/result-codes.js';

/**
 * GET /alarms, /alarms/activated, /alarms/deactivated (over the cluster and on one node),
 * POST /alarms/deactivated (deactivate one active alarm on a node) and DELETE
 * /alarms/deactivated (forget the history, over the cluster or on one node). Each node keeps
 * its own alarms (node/alarms/); over the cluster the answer is one `{node, alarms}` object
 * per node, on one node the array itself, as the spec shows.
 */

const listed = (which: AlarmList): NodePair['handle'] => nodeLists('alarms.list', { which }, 'alarms');

const deactivateBody = bodySchema<{ node: string; name: string }>({
  type: 'object',
  required: ['node', 'name'],
  properties: { node: { type: 'string', minLength: 1 }, name: { type: 'string', minLength: 1 } },
});

export const alarms: Resource = [
  ...nodePair({
    path: '/alarms',
    name: ['list_all_alarms', 'list_node_alarms'],
    descr: ['List all alarms in the cluster', 'List all alarms on a node'],
    handle: listed('all'),
  }),
  ...nodePair({
    path: '/alarms/activated',
    name: ['list_all_activated_alarms', 'list_node_activated_alarms'],
    descr: ['List all activated alarm in the cluster', 'List all activated alarm on a node'],
    handle: listed('activated'),
  }),
  ...nodePair({
    path: '/alarms/deactivated',
    name: ['list_all_deactivated_alarms', 'list_node_deactivated_alarms'],
    descr: ['List all deactivated alarm in the cluster', 'List all deactivated alarm on a node'],
    handle: listed('deactivated'),
  }),
  {
    method: 'POST',
    path: '/alarms/deactivated',
    name: 'deactivate_alarm',
    descr: 'Delete the special alarm on a node',
    handle: async ({ cluster, body }) => {
      const b = deactivateBody(body);
      // an unknown node is 404 before any RPC, as on the per-node paths
      if (!(await cluster.one(b.node, 'alarms.deactivate', { name: b.name }))) throw new ApiError(404, CODE.NOT_FOUND, `alarm ${b.name} is not activated on ${b.node}`);
      return {};
    },
  },
  ...nodePair({
    method: 'DELETE',
    path: '/alarms/deactivated',
    name: ['delete_all_deactivated_alarms', 'delete_node_deactivated_alarms'],
    descr: ['Delete all deactivated alarm in the cluster', 'Delete all deactivated alarm on a node'],
    handle: async ({ cluster }, node) => {
      await gather(cluster, node, 'alarms.clearDeactivated', {});
      return {};
    },
  }),
];
