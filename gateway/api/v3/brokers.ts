import type { BrokerRow } from '../../../shared/api/brokers.js';
import type { Resource } from '../endpoint.js';
import { brokers as v4Brokers } from '../v4/brokers.js';
import { over, v4, withoutNode } from './adapt.js';

/** GET /brokers/, /brokers/{node}: v4's rows; one node's without `node`, as the v3 spec shows it. */
export const brokers: Resource = [
  over(v4(v4Brokers, 'list_brokers'), { path: '/brokers/', name: 'list_brokers', descr: 'A list of brokers in the cluster' }),
  over(v4(v4Brokers, 'lookup_broker'), {
    path: '/brokers/:node',
    name: 'get_broker',
    descr: 'Get broker info of a node',
    reply: (r) => ({ data: withoutNode(r.data as BrokerRow) }),
  }),
];
