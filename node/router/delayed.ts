import type { Message } from '../../shared/message.js';
import { validTopicName } from '../../shared/topic.js';

/** EMQX's delayed publish: `$delayed/<seconds>/<topic>` is published to `<topic>` after that many seconds. */
const PREFIX = '$delayed/';
/** EMQX's upper bound for the interval (seconds) */
const MAX_INTERVAL = 4294967;

export class DelayedPublish {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly publish: (msg: Message) => void) {}

  get size(): number {
    return this.timers.size;
  }

  /**
   * Takes a message addressed to `$delayed/...`: returns false when the topic is not a
   * delayed one, 'invalid' when it is malformed, true when it was scheduled.
   */
  take(msg: Message): boolean | 'invalid' {
    if (!msg.topic.startsWith(PREFIX)) return false;
    const rest = msg.topic.slice(PREFIX.length);
    const slash = rest.indexOf('/');
    const seconds = slash > 0 ? Number(rest.slice(0, slash)) : NaN;
    const topic = rest.slice(slash + 1);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_INTERVAL || !validTopicName(topic)) return 'invalid';
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.publish({ ...msg, topic, timestamp: Date.now() });
    }, seconds * 1000);
    timer.unref();
    this.timers.add(timer);
    return true;
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
