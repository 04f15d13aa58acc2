import type { DurableHost } from './durable-sessions.js';
import { expired, storedWillMessage } from './record.js';
import type { SessionStore } from './store.js';

/**
 * Sessions expire on time even when no node that held them is alive: every node looks at
 * the stored sessions every few seconds, and one whose node is gone (dead, or this node
 * restarted without it) is dealt with by whichever node gets there first (conditional writes
 * on the record's revision): its disconnect time is set when first seen orphaned; seen so
 * again, it is adopted (lifecycle.ts adoptSession: held offline, its expiry and will run
 * there). Without adoption (a node that could not hold it) its will is published once its
 * delay has passed [MQTT-3.1.3-9] and it is deleted with its messages once its expiry
 * interval has.
 */
export class ExpirySweep {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** when each node holding stored sessions was first seen dead by this sweep */
  private readonly deadSince = new Map<string, number>();

  constructor(
    private readonly store: SessionStore,
    private readonly host: DurableHost,
    private readonly everyMs: number,
    /** whether orphaned sessions are taken on (else only expired and their wills published) */
    private readonly adopting = true,
  ) {}

  start(): void {
    if (this.everyMs <= 0) return;
    this.timer = setInterval(() => void this.run(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const clientid of await this.store.clientids()) await this.check(clientid);
    } catch (err) {
      this.host.log.debug({ err: (err as Error).message }, 'durable session sweep failed');
    } finally {
      this.running = false;
    }
  }

  private async check(clientid: string): Promise<void> {
    const h = this.host;
    const entry = await this.store.get(clientid);
    if (!entry) return;
    const r = entry.record;
    const orphan = r.node === h.nodeName ? !h.holds(clientid) : !h.isLive(r.node);
    if (!orphan) {
      this.deadSince.delete(r.node);
      return;
    }
    const now = Date.now();
    if (r.disconnectedAt === 0) {
      // its node died with the client connected: the session's clock starts now
      await this.store.update({ ...r, disconnectedAt: now }, entry.revision);
      return;
    }
    const gone = expired(r, now);
    const since = this.deadSince.get(r.node) ?? now;
    this.deadSince.set(r.node, since);
    if (!gone && this.adopting && now - since >= this.everyMs) {
      // its node has been gone a sweep interval and its client did not come back meanwhile:
      // this node takes it on, so that its subscriptions route somewhere again (the first to
      // claim it wins)
      if (await this.store.update({ ...r, node: h.nodeName, movedFrom: { node: r.node, at: now } }, entry.revision)) await h.adopt(clientid, r.node);
      return;
    }
    if (r.will && (gone || now >= r.disconnectedAt + r.will.delay * 1000)) {
      const will = storedWillMessage(r, now);
      if (!(await this.store.update({ ...r, will: undefined }, entry.revision))) return;
      if (will) h.publish(will);
      if (!gone) return;
      const again = await this.store.get(clientid);
      if (!again) return;
      entry.revision = again.revision;
    }
    if (!gone) return;
    if (await this.store.remove(clientid, entry.revision)) await this.store.purge(clientid, undefined);
  }
}
