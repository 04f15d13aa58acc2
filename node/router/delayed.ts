import type { Message } from '../../shared/message.js';
import { validTopicName } from '../../shared/topic.js';
import { LongTimer } from '../core/long-timer.js';

/** EMQX's delayed publish: `$delayed/<seconds>/<topic>` is published to `<topic>` after that many seconds. */
const PREFIX = '$delayed/';
/** EMQX's upper bound for the interval (seconds) */
const MAX_INTERVAL = 4294967;

interface Pending {
  /** as published (the broker detaches its payload after take()) */
  msg: Message;
  topic: string;
  /** epoch ms at which it is published */
  at: number;
  timer: LongTimer | undefined;
}

export class DelayedPublish {
  private readonly pending = new Set<Pending>();
  /**
   * Whether the delayed publish module is loaded (emqx_delayed_publish / emqx_mod_delayed).
   * Unloaded, `$delayed/...` is an ordinary topic; messages already waiting are kept and
   * published once it is loaded again (those whose time has passed at once), as EMQX keeps
   * them in its table.
   */
  private on = true;

  constructor(private readonly publish: (msg: Message) => void) {}

  get size(): number {
    return this.pending.size;
  }

  get active(): boolean {
    return this.on;
  }

  /**
   * Takes a message addressed to `$delayed/...`: returns false when the topic is not a
   * delayed one (or the module is unloaded), 'invalid' when it is malformed, true when it
   * was scheduled.
   */
  take(msg: Message): boolean | 'invalid' {
    if (!this.on || !msg.topic.startsWith(PREFIX)) return false;
    const rest = msg.topic.slice(PREFIX.length);
    const slash = rest.indexOf('/');
    const seconds = slash > 0 ? Number(rest.slice(0, slash)) : NaN;
    const topic = rest.slice(slash + 1);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_INTERVAL || !validTopicName(topic)) return 'invalid';
    const p: Pending = { msg, topic, at: Date.now() + seconds * 1000, timer: undefined };
    this.pending.add(p);
    this.arm(p);
    return true;
  }

  /** Loads the module: `$delayed/...` is delayed again and the kept messages are scheduled. */
  resume(): void {
    if (this.on) return;
    this.on = true;
    for (const p of this.pending) this.arm(p);
  }

  /** Unloads the module: nothing is published until resume(); the waiting messages are kept. */
  pause(): void {
    this.on = false;
    for (const p of this.pending) {
      p.timer?.cancel();
      p.timer = undefined;
    }
  }

  stop(): void {
    this.pause();
    this.pending.clear();
  }

  private arm(p: Pending): void {
    p.timer = new LongTimer(() => {
      this.pending.delete(p);
      this.publish({ ...p.msg, topic: p.topic, timestamp: Date.now() });
    }, p.at - Date.now());
  }
}
