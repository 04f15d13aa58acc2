import { TOPIC_METRICS_MAX, TOPIC_METRIC_KEYS, TOPIC_METRIC_NAMES, type TopicMetricValues, type TopicMetricsRecord, type TopicMetricsRow } from '../../shared/api/topic-metrics.js';
import type { Detach, Hooks, MessageDeliveredEvent, MessageDroppedEvent, MessagePublishEvent } from '../core/hooks.js';
import type { Feature } from './feature.js';

// Indices into a topic's counters, in TOPIC_METRIC_NAMES order (by QoS: 0, 1, 2).
const QOS_OUT = [4, 2, 0] as const;
const QOS_IN = [5, 3, 1] as const;
const OUT = 6;
const IN = 7;
const DROPPED = 8;
const N = TOPIC_METRIC_NAMES.length;

/** How often the rates are updated, and the window of their moving average (EMQX: 1 s, 5 ticks). */
const TICK_MS = 1000;
const RATE_WINDOW = 5;


/** One registered topic's counters on this node, and the state of their rates. */
class TopicCounters {
  readonly counts = new Float64Array(N);
  /** the counts at the last tick */
  private readonly last = new Float64Array(N);
  readonly rates = new Float64Array(N);

  /**
   * One tick: the speed since the last one (per second) folded into the moving average as
   * EMQX's emqx_mod_topic_metrics does, (rate × (W − 1) + speed) / W: a burst shows at once
   * and fades over a few seconds.
   */
  tick(seconds: number): void {
    for (let i = 0; i < N; i++) {
      const speed = (this.counts[i]! - this.last[i]!) / seconds;
      this.rates[i] = (this.rates[i]! * (RATE_WINDOW - 1) + speed) / RATE_WINDOW;
      this.last[i] = this.counts[i]!;
    }
  }

  /** As the API shows them: each metric's rate, then its count (TOPIC_METRIC_KEYS). */
  values(): TopicMetricValues {
    const out: TopicMetricValues = {};
    for (let i = 0; i < N; i++) {
      out[TOPIC_METRIC_KEYS[2 * i]!] = this.rates[i]!;
      out[TOPIC_METRIC_KEYS[2 * i + 1]!] = this.counts[i]!;
    }
    return out;
  }
}

/**
 * EMQX's emqx_mod_topic_metrics on one node: for each registered topic (a topic name, the
 * cluster config kind 'topic_metrics' the cluster layer hands to setTopics), the messages
 * published on this node (`in`), delivered by it (`out`) and dropped by it for want of a
 * subscriber, by QoS, each with its rate. The cluster's answer is the sum over the nodes.
 *
 * Through the hooks seam (node/core/hooks.ts), attached only while loaded with at least one
 * topic registered: with none, the publish path pays nothing; with some, one Map lookup per
 * message published and, per delivery, a comparison with the last delivered topic (a
 * message fanned out to many subscribers is looked up once). Unloading drops the counts, as
 * EMQX's does; the registrations are cluster config and stay.
 */
export class TopicMetrics implements Feature {
  private on = false;
  private topics = new Map<string, TopicCounters>();
  private records: TopicMetricsRecord[] = [];
  private detach: Detach[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  // the last delivered message's topic and its counters: a fan-out looks its topic up once
  private lastTopic: string | undefined;
  private lastCounters: TopicCounters | undefined;

  constructor(private readonly hooks: Hooks) {}

  get active(): boolean {
    return this.on;
  }

  load(): void {
    this.on = true;
    this.topics = new Map(this.records.map((r) => [r.topic, new TopicCounters()]));
    this.refresh();
  }

  unload(): void {
    this.on = false;
    this.topics = new Map();
    this.refresh();
  }

  /**
   * The registered topics (the store's records, in registration order; only the first
   * TOPIC_METRICS_MAX count). A topic registered before keeps its counts, a new one starts
   * at zero, one no longer registered is forgotten.
   */
  setTopics(records: readonly TopicMetricsRecord[]): void {
    this.records = records.slice(0, TOPIC_METRICS_MAX);
    if (this.on) {
      const old = this.topics;
      this.topics = new Map(this.records.map((r) => [r.topic, old.get(r.topic) ?? new TopicCounters()]));
    }
    this.refresh();
  }

  /** The counters of every registered topic (or of `topic` alone), in registration order; null while unloaded. */
  rows(topic?: string): TopicMetricsRow[] | null {
    if (!this.on) return null;
    const out: TopicMetricsRow[] = [];
    for (const [t, c] of this.topics) if (topic === undefined || t === topic) out.push({ topic: t, metrics: c.values() });
    return out;
  }

  /** Attached to the hooks (and the rate timer running) exactly while loaded with a topic registered. */
  private refresh(): void {
    this.lastTopic = undefined;
    this.lastCounters = undefined;
    const want = this.on && this.topics.size > 0;
    if (want && this.detach.length === 0) {
      this.detach = [this.hooks.messagePublish.on(this.onPublish), this.hooks.messageDelivered.on(this.onDelivered), this.hooks.messageDropped.on(this.onDropped)];
      this.lastTick = Date.now();
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    } else if (!want && this.detach.length > 0) {
      for (const d of this.detach) d();
      this.detach = [];
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    const now = Date.now();
    // a late timer (a busy event loop) must not read as a burst
    const seconds = Math.max(now - this.lastTick, 1) / 1000;
    this.lastTick = now;
    for (const c of this.topics.values()) c.tick(seconds);
  }

  private readonly onPublish = (e: MessagePublishEvent): void => {
    const c = this.topics.get(e.message.topic);
    if (c === undefined) return;
    c.counts[IN]! += 1;
    c.counts[QOS_IN[e.message.qos]]! += 1;
  };

  private readonly onDelivered = (e: MessageDeliveredEvent): void => {
    const topic = e.message.topic;
    if (topic !== this.lastTopic) {
      this.lastTopic = topic;
      this.lastCounters = this.topics.get(topic);
    }
    const c = this.lastCounters;
    if (c === undefined) return;
    c.counts[OUT]! += 1;
    c.counts[QOS_OUT[e.qos]]! += 1;
  };

  // a message dropped as a whole (no subscriber anywhere, an invalid delayed publish), as
  // EMQX's message.dropped hook; a delivery dropped for one subscriber is not one
  private readonly onDropped = (e: MessageDroppedEvent): void => {
    if (e.clientid !== undefined) return;
    const c = this.topics.get(e.message.topic);
    if (c !== undefined) c.counts[DROPPED]! += 1;
  };
}

/** How GET /api/v4/modules names it (the spec's example). */
export const TOPIC_METRICS_MODULE = { name: 'emqx_mod_topic_metrics', description: 'EMQX Topic Metrics Module' } as const;

/**
 * The topic metrics module (EMQX's emqx_mod_topic_metrics) as a feature the modules
 * registry switches; loaded at once unless `loaded` is false (EMQX ships it unloaded).
 */
export function topicMetricsFeature(hooks: Hooks, opts: { loaded?: boolean } = {}): TopicMetrics {
  const f = new TopicMetrics(hooks);
  if (opts.loaded ?? true) f.load();
  return f;
}
