/** Paged lists held by the nodes (clients, subscriptions): the gateway asks for counts first, then slices. */
import type { ShapeOf } from './params-schema.js';

/** A page of rows from one node. */
export const SLICE = { offset: 'int', limit: 'int' } as const;
export type Slice = ShapeOf<typeof SLICE>;
