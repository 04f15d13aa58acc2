import { createHash } from 'node:crypto';
import type { Message } from '../../shared/message.js';

/**
 * Set while a rerouted forward (docs/forwarding.md, "Rerouting") is delivered: a copy of a
 * message held for a node that died, which that node may have stored (and its session
 * restored here) before it could confirm it. Delivery is synchronous: one flag serves.
 * `route`: it was held for the dead node's route subscribers (not a shared group's member),
 * so it is meant only for the sessions that node had and that came here since.
 */
export const rerouting = { active: false, route: false };

/** A message's identity across nodes: its publisher, the time its node accepted it, topic and payload. */
function key(msg: Message): string {
  return `${msg.from}\u0000${msg.timestamp}\u0000${msg.topic}\u0000${createHash('sha1').update(msg.payload).digest('base64')}`;
}

/**
 * The messages a session got back from the durable store on resume, so that a rerouted copy
 * of one of them is not delivered twice (QoS 2 exactly once). Kept for `forMs` (the longest a
 * forward is held), then forgotten.
 */
export class RestoredMessages {
  private keys: Set<string> | undefined = new Set();

  constructor(forMs: number) {
    setTimeout(() => (this.keys = undefined), forMs).unref();
  }

  add(msg: Message): void {
    this.keys?.add(key(msg));
  }

  /** whether `msg`, delivered as a rerouted copy, is one of them */
  has(msg: Message): boolean {
    return this.keys !== undefined && this.keys.has(key(msg));
  }
}
