import type { Resource } from '../endpoint.js';
import { routes as v4Routes } from '../v4/routes.js';
import { mapRows, over, v4 } from './adapt.js';

/** GET /routes/, /routes/{topic}: v4's (rows `{topic, node}` in both versions), paging meta in v3's form. */
export const routes: Resource = [
  over(v4(v4Routes, 'list_routes'), { path: '/routes/', name: 'list_routes', descr: 'List routes', reply: (r) => mapRows(r, (x) => x) }),
  over(v4(v4Routes, 'lookup_routes'), { path: '/routes/:topic', name: 'lookup_routes', descr: 'Lookup routes to a topic' }),
];
