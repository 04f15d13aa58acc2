import type { Resource } from '../endpoint.js';
import { listeners as v4Listeners } from '../v4/listeners.js';
import { over, v4 } from './adapt.js';

/** GET /listeners/, /nodes/{node}/listeners: v4's, whose shapes are v3's too. */
export const listeners: Resource = [
  over(v4(v4Listeners, 'list_listeners'), { path: '/listeners/', name: 'list_listeners', descr: 'A list of listeners in the cluster' }),
  over(v4(v4Listeners, 'list_node_listeners'), { path: '/nodes/:node/listeners', name: 'list_node_listeners', descr: 'A list of listeners on the node' }),
];
