import type { AlarmRow } from '../../../shared/api/alarms.js';
import type { Resource } from '../endpoint.js';
import { alarms as v4Alarms } from '../v4/alarms.js';
import { over, v4 } from './adapt.js';

/**
 * GET /alarms/, /alarms/{node}: the active alarms (EMQX 3.x kept no history), each as
 * EMQX 3.1+'s alarm handler shows one: `{id, desc}` (v4's name and message).
 */
const row = (a: AlarmRow): Record<string, unknown> => ({ id: a.name, desc: a.message });

export const alarms: Resource = [
  over(v4(v4Alarms, 'list_all_activated_alarms'), {
    path: '/alarms/',
    name: 'list_all_alarms',
    descr: 'List all alarms',
    reply: (r) => ({ data: (r.data as { node: string; alarms: AlarmRow[] }[]).map((n) => ({ alarms: n.alarms.map(row), node: n.node })) }),
  }),
  over(v4(v4Alarms, 'list_node_activated_alarms'), {
    path: '/alarms/:node',
    name: 'list_node_alarms',
    descr: 'List alarms of a node',
    reply: (r) => ({ data: (r.data as AlarmRow[]).map(row) }),
  }),
];
