/** The NATS subjects of forwarding, beside RPC's (shared/cluster/subjects.ts, which names nodes as tokens). */
import { encodeNodeToken } from '../../../shared/cluster/subjects.js';

export const FORWARD_PREFIX = 'starling.fwd';
export const ACK_PREFIX = 'starling.ack';

/** Where messages forwarded to `node` go (and its probes: docs/forwarding.md). */
export function forwardSubject(node: string): string {
  return `${FORWARD_PREFIX}.${encodeNodeToken(node)}`;
}

/** Where the node listening for forwards acknowledges reliable ones to the sending transport instance (`id`: hex). */
export function ackSubject(id: string): string {
  if (!/^[0-9a-f]+$/.test(id)) throw new RangeError(`transport instance id ${JSON.stringify(id)} is not hex`);
  return `${ACK_PREFIX}.${id}`;
}
