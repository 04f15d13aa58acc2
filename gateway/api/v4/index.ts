import type { Resource } from '../endpoint.js';
import { brokers } from './brokers.js';
import { nodes } from './nodes.js';

/** Every v4 resource, in the order GET /api/v4 lists them. */
export const resources: Resource[] = [brokers, nodes];
