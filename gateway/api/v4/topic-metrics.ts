import { TOPIC_METRICS_MAX, TOPIC_METRIC_KEYS, type TopicMetricValues, type TopicMetricsRecord, type TopicMetricsRow } from '../../../shared/api/topic-metrics.js';
import { CODE } from '../../../shared/result-codes.js';
import { validTopicName } from '../../../shared/topic.js';
import type { ApiContext, Resource } from '../endpoint.js';
import { ApiError, notFound } from '../errors.js';
import { bodySchema } from '../schema.js';
import { stored } from '../stored.js';

/**
 * GET/POST/DELETE /topic-metrics and GET/DELETE /topic-metrics/{topic} (the topic
 * URL-encoded), EMQX's emqx_mod_api_topic_metrics. The registered topics are cluster config
 * (kind 'topic_metrics'), written here and loaded by every node; the counts are the nodes'
 * (node/features/topic-metrics.ts), summed, rates too. As EMQX, every endpoint answers
 * module_not_loaded while the module is loaded on no node. Errors: a missing topic 107, a
 * topic that is no topic name (a wildcard, empty) 115, an unregistered one 404, one
 * registered already 113, the 513th 102 "Quota exceeded" (the spec gives no code for it).
 */

const moduleNotLoaded = (): ApiError => new ApiError(200, CODE.UNKNOWN, 'module_not_loaded');

const registerBody = bodySchema<{ topic: string }>({
  type: 'object',
  required: ['topic'],
  properties: { topic: { type: 'string' } },
});

/** A topic name as EMQX's emqx_topic:validate(name, _) takes it: 115 otherwise. */
function topicName(topic: string): string {
  if (!validTopicName(topic)) throw new ApiError(400, CODE.BAD_TOPIC, `invalid topic name: ${JSON.stringify(topic)}`);
  return topic;
}

const registered = (ctx: ApiContext): Promise<TopicMetricsRecord[]> => stored('topic metrics', () => ctx.store.configList('topic_metrics'));

/** 102 unless the module is loaded on at least one live node. */
async function whenLoaded(ctx: ApiContext): Promise<void> {
  const states = await ctx.cluster.all('topicMetrics.loaded', {});
  if (!states.some((s) => s.data)) throw moduleNotLoaded();
}

/** Each node's rows (of one topic, or all), those of nodes with the module loaded; 102 if none has it. */
async function nodeRows(ctx: ApiContext, topic?: string): Promise<TopicMetricsRow[][]> {
  const answers = await ctx.cluster.all('topicMetrics.list', topic === undefined ? {} : { topic });
  const loaded = answers.map((a) => a.data).filter((d): d is TopicMetricsRow[] => d !== null);
  if (loaded.length === 0) throw moduleNotLoaded();
  return loaded;
}

/** A topic's counts and rates summed over the nodes; a node that has not loaded the registration yet adds zero. */
function summed(topic: string, perNode: TopicMetricsRow[][]): TopicMetricValues {
  let out: TopicMetricValues | undefined;
  for (const rows of perNode) {
    const row = rows.find((r) => r.topic === topic);
    if (!row) continue;
    if (!out) out = { ...row.metrics };
    else for (const [k, v] of Object.entries(row.metrics)) out[k] = (out[k] ?? 0) + v;
  }
  return out ?? Object.fromEntries(TOPIC_METRIC_KEYS.map((k) => [k, 0]));
}

export const topicMetrics: Resource = [
  {
    method: 'GET',
    path: '/topic-metrics',
    name: 'list_all_topic_metrics',
    descr: 'A list of all topic metrics of all nodes in the cluster',
    handle: async (ctx) => {
      const perNode = await nodeRows(ctx);
      return { data: (await registered(ctx)).map((r) => ({ topic: r.topic, metrics: summed(r.topic, perNode) })) };
    },
  },
  {
    method: 'GET',
    path: '/topic-metrics/:topic',
    name: 'list_topic_metrics',
    descr: 'A list of specfied topic metrics of all nodes in the cluster',
    handle: async (ctx) => {
      const topic = topicName(ctx.params.topic!);
      const perNode = await nodeRows(ctx, topic);
      if (!(await registered(ctx)).some((r) => r.topic === topic)) throw notFound(`topic metrics of ${topic}`);
      return { data: summed(topic, perNode) };
    },
  },
  {
    method: 'POST',
    path: '/topic-metrics',
    name: 'register_topic_metrics',
    descr: 'Register topic metrics',
    handle: async (ctx) => {
      const topic = topicName(registerBody(ctx.body).topic);
      await whenLoaded(ctx);
      const all = await registered(ctx);
      if (all.some((r) => r.topic === topic)) throw new ApiError(200, CODE.EXISTS, `topic ${topic} is registered already`);
      if (all.length >= TOPIC_METRICS_MAX) throw new ApiError(200, CODE.UNKNOWN, `Quota exceeded: at most ${TOPIC_METRICS_MAX} topics`);
      const created = await stored('topic metrics', () => ctx.store.configPut('topic_metrics', { topic, create_time: Date.now() }, 'create'));
      if (!created) throw new ApiError(200, CODE.EXISTS, `topic ${topic} is registered already`);
      return {};
    },
  },
  {
    method: 'DELETE',
    path: '/topic-metrics/:topic',
    name: 'unregister_topic_metrics',
    descr: 'Unregister topic metrics',
    handle: async (ctx) => {
      const topic = topicName(ctx.params.topic!);
      await whenLoaded(ctx);
      if (!(await stored('topic metrics', () => ctx.store.configDelete('topic_metrics', topic)))) throw notFound(`topic metrics of ${topic}`);
      return {};
    },
  },
  {
    method: 'DELETE',
    path: '/topic-metrics',
    name: 'unregister_all_topic_metrics',
    descr: 'Unregister all topic metrics',
    handle: async (ctx) => {
      await whenLoaded(ctx);
      for (const r of await registered(ctx)) await stored('topic metrics', () => ctx.store.configDelete('topic_metrics', r.topic));
      return {};
    },
  },
];
