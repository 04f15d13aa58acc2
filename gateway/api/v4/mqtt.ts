import { CODE } from '../../../shared/result-codes.js';
import type { PublishParams } from '../../../shared/rpc.js';
import { parseShare, validTopicFilter, validTopicName } from '../../../shared/topic.js';
import type { ApiContext, Resource } from '../endpoint.js';
import { ApiError, badParam, missing } from '../errors.js';
import { bodySchema } from '../schema.js';

/**
 * POST /mqtt/publish, /mqtt/subscribe, /mqtt/unsubscribe and their `_batch` forms, as
 * EMQX 4.x's emqx_mgmt_api_pubsub has them.
 *
 * A publish is made once, on one node (where the `clientid` is connected if it is, else the
 * first live node): the node routes it to the whole cluster as if a client had sent it.
 * A subscribe or unsubscribe acts on the node the client is on; every node is asked and the
 * one holding the client answers (112 when none does).
 *
 * Where EMQX is more lenient than the spec's table, EMQX's behaviour is kept, so that a
 * script that works against EMQX works here: `clientid` and `payload` of a publish may be
 * left out (the publisher is then `http_api`, the payload empty), `topic` wins over `topics`,
 * and a JSON object as `payload` is sent as its JSON text.
 */

/** The publisher recorded on a message the API publishes without a `clientid` (EMQX 5's name for it). */
const DEFAULT_PUBLISHER = 'http_api';

/** A QoS field: an integer that is not 0, 1 or 2 is 116 (bad QoS), not 108. */
const QOS = { type: 'integer', enum: [0, 1, 2], errorCode: CODE.BAD_QOS };
const TOPICS = { topic: { type: 'string' }, topics: { type: 'string' } };
const U32 = { type: 'integer', minimum: 0, maximum: 0xffffffff };

interface TopicsBody {
  topic?: string;
  topics?: string;
}

interface PublishBody extends TopicsBody {
  clientid?: string;
  payload?: string | Record<string, unknown>;
  encoding?: 'plain' | 'base64';
  qos?: 0 | 1 | 2;
  retain?: boolean;
  properties?: {
    payload_format_indicator?: 0 | 1;
    message_expiry_interval?: number;
    response_topic?: string;
    correlation_data?: string;
    subscription_identifier?: number;
    user_properties?: Record<string, string | number | boolean>;
    content_type?: string;
  };
}

interface SubscribeBody extends TopicsBody {
  clientid: string;
  qos?: 0 | 1 | 2;
}

type UnsubscribeBody = TopicsBody & { clientid: string };

const publishBody = bodySchema<PublishBody>({
  type: 'object',
  properties: {
    ...TOPICS,
    clientid: { type: 'string' },
    payload: { anyOf: [{ type: 'string' }, { type: 'object' }] },
    encoding: { type: 'string', enum: ['plain', 'base64'] },
    qos: QOS,
    retain: { type: 'boolean' },
    // MQTT 5 PUBLISH properties; others are ignored, as EMQX ignores them
    properties: {
      type: 'object',
      properties: {
        payload_format_indicator: { type: 'integer', enum: [0, 1] },
        message_expiry_interval: U32,
        response_topic: { type: 'string', minLength: 1 },
        correlation_data: { type: 'string' },
        // one per message only makes sense for a subscription: accepted and not used, as by EMQX
        subscription_identifier: { type: 'integer', minimum: 1, maximum: 268435455 },
        user_properties: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
        content_type: { type: 'string' },
      },
    },
  },
});

const subscribeBody = bodySchema<SubscribeBody>({
  type: 'object',
  required: ['clientid'],
  properties: { ...TOPICS, clientid: { type: 'string' }, qos: QOS },
});

/** `qos` in an unsubscribe (the spec's own example sends one) is ignored. */
const unsubscribeBody = bodySchema<UnsubscribeBody>({
  type: 'object',
  required: ['clientid'],
  properties: { ...TOPICS, clientid: { type: 'string' } },
});

const badTopic = (topic: string): ApiError => new ApiError(400, CODE.BAD_TOPIC, `bad topic: ${JSON.stringify(topic)}`);

/**
 * The topics of a body: `topic`, else `topics` split at commas (blanks around each trimmed),
 * each a valid topic name (publish) or filter (subscribe). Missing both is 107, an invalid one 115.
 */
function topicList(b: TopicsBody, kind: 'name' | 'filter'): string[] {
  let list: string[];
  if (b.topic !== undefined) list = [b.topic];
  else if (b.topics !== undefined) list = b.topics.split(',').map((t) => t.trim());
  else throw missing('topic');
  for (const t of list) {
    if (kind === 'name' ? !validTopicName(t) : !validFilter(t)) throw badTopic(t);
  }
  return list;
}

function validFilter(t: string): boolean {
  const share = parseShare(t);
  return share !== null && validTopicFilter(share ? share.filter : t);
}

/** The `topic` an item of a batch answer names: `topic` as given, else `topics` (EMQX's resp_topic). */
function itemTopic(item: unknown): unknown {
  const b = (typeof item === 'object' && item !== null ? item : {}) as TopicsBody;
  return b.topic ?? b.topics ?? '';
}

function itemClientid(item: unknown): unknown {
  return typeof item === 'object' && item !== null ? ((item as { clientid?: unknown }).clientid ?? null) : null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The payload as base64 for the RPC; 108 for base64 that is not. */
function payloadBase64(b: PublishBody): string {
  const p = b.payload ?? '';
  if (typeof p !== 'string') {
    if (b.encoding === 'base64') throw badParam('payload', 'must be a base64 string with encoding base64');
    return Buffer.from(JSON.stringify(p)).toString('base64');
  }
  if (b.encoding !== 'base64') return Buffer.from(p, 'utf8').toString('base64');
  const s = p.replace(/\s+/g, '');
  if (!BASE64.test(s) || s.length % 4 === 1 || (s.includes('=') && s.length % 4 !== 0)) throw badParam('payload', 'not valid base64');
  return Buffer.from(s, 'base64').toString('base64');
}

function rpcProperties(p: PublishBody['properties']): PublishParams['properties'] {
  if (!p) return undefined;
  const out: NonNullable<PublishParams['properties']> = {};
  if (p.payload_format_indicator !== undefined) out.payload_format_indicator = p.payload_format_indicator;
  if (p.message_expiry_interval !== undefined) out.message_expiry_interval = p.message_expiry_interval;
  if (p.response_topic !== undefined) {
    // a Response Topic is a topic name [MQTT-3.3.2-14]
    if (!validTopicName(p.response_topic)) throw badParam('properties.response_topic', 'must be a topic name without wildcards');
    out.response_topic = p.response_topic;
  }
  if (p.correlation_data !== undefined) out.correlation_data = p.correlation_data;
  if (p.user_properties !== undefined) {
    // EMQX's own example sends numbers: a User Property is a pair of UTF-8 strings
    out.user_properties = Object.fromEntries(Object.entries(p.user_properties).map(([k, v]) => [k, String(v)]));
  }
  if (p.content_type !== undefined) out.content_type = p.content_type;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Where a publish is made: the publisher's node if it is connected to a live one, else the first live node. */
async function publishNode({ cluster, store }: ApiContext, clientid: string): Promise<string> {
  const nodes = await cluster.nodes();
  if (nodes.length === 0) throw new ApiError(200, CODE.RPC_ERROR, 'no live node to publish on');
  let at: string | undefined;
  try {
    at = await store.lookupClient(clientid);
  } catch {
    // the registry is only a preference: any node publishes to the whole cluster
  }
  return at !== undefined && nodes.includes(at) ? at : nodes[0]!;
}

async function publish(ctx: ApiContext, body: unknown, where?: string): Promise<void> {
  const b = publishBody(body, where);
  const topics = topicList(b, 'name');
  const payload = payloadBase64(b);
  const properties = rpcProperties(b.properties);
  const clientid = b.clientid ?? DEFAULT_PUBLISHER;
  const node = await publishNode(ctx, clientid);
  for (const topic of topics) {
    await ctx.cluster.one(node, 'mqtt.publish', { topic, payload, qos: b.qos ?? 0, retain: b.retain ?? false, clientid, properties });
  }
}

/** A SUBACK / UNSUBACK reason code from the client's node: 0x8F is a bad filter (115), another failure 108. */
function checkReason(code: number, topic: string, op: string): void {
  if (code < 0x80) return;
  if (code === 0x8f) throw badTopic(topic);
  throw badParam('topic', `${op} of ${JSON.stringify(topic)} refused (reason code 0x${code.toString(16)})`);
}

/**
 * Subscribes or unsubscribes each topic on the node holding the client: the first topic is
 * offered to every node (only the client's answers non-null), the rest go to that node alone.
 * No node holding the client is 112.
 */
async function onClientNode(ctx: ApiContext, op: 'subscribe' | 'unsubscribe', clientid: string, topics: string[], qos: number): Promise<void> {
  const call = (node: string | undefined, topic: string): Promise<{ node: string; data: number | null }[]> =>
    op === 'subscribe'
      ? node === undefined
        ? ctx.cluster.all('mqtt.subscribe', { clientid, topic, qos })
        : ctx.cluster.one(node, 'mqtt.subscribe', { clientid, topic, qos }).then((data) => [{ node, data }])
      : node === undefined
        ? ctx.cluster.all('mqtt.unsubscribe', { clientid, topic })
        : ctx.cluster.one(node, 'mqtt.unsubscribe', { clientid, topic }).then((data) => [{ node, data }]);
  let node: string | undefined;
  for (const topic of topics) {
    const hit = (await call(node, topic)).find((a) => a.data !== null);
    if (!hit) throw new ApiError(200, CODE.CLIENT_NOT_ONLINE, `client ${clientid} is not online`);
    node = hit.node;
    checkReason(hit.data!, topic, op); // an unsubscribe's 0x11 (no such subscription) is success, as for EMQX
  }
}

async function subscribe(ctx: ApiContext, body: unknown, where?: string): Promise<void> {
  const b = subscribeBody(body, where);
  await onClientNode(ctx, 'subscribe', b.clientid, topicList(b, 'filter'), b.qos ?? 0);
}

async function unsubscribe(ctx: ApiContext, body: unknown, where?: string): Promise<void> {
  const b = unsubscribeBody(body, where);
  await onClientNode(ctx, 'unsubscribe', b.clientid, topicList(b, 'filter'), 0);
}

/** An item's result code: 0, or the code of the ApiError it failed with. */
async function itemCode(run: () => Promise<void>): Promise<number> {
  try {
    await run();
    return CODE.OK;
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
}

/**
 * A batch: the body must be an array (108 otherwise); its items run one after the other, in
 * order (a batch of publishes to one topic arrives in order), each answered with its own code.
 */
async function batch<R>(ctx: ApiContext, run: (item: unknown, where: string) => Promise<void>, row: (item: unknown, code: number) => R): Promise<R[]> {
  if (!Array.isArray(ctx.body)) throw badParam('body', 'must be a JSON array');
  const out: R[] = [];
  for (const [i, item] of ctx.body.entries()) out.push(row(item, await itemCode(() => run(item, `[${i}]`))));
  return out;
}

export const mqtt: Resource = [
  {
    method: 'POST',
    path: '/mqtt/publish',
    name: 'mqtt_publish',
    descr: 'Publish a MQTT message',
    handle: async (ctx) => {
      await publish(ctx, ctx.body);
      return {};
    },
  },
  {
    method: 'POST',
    path: '/mqtt/subscribe',
    name: 'mqtt_subscribe',
    descr: 'Subscribe a topic',
    handle: async (ctx) => {
      await subscribe(ctx, ctx.body);
      return {};
    },
  },
  {
    method: 'POST',
    path: '/mqtt/unsubscribe',
    name: 'mqtt_unsubscribe',
    descr: 'Unsubscribe a topic',
    handle: async (ctx) => {
      await unsubscribe(ctx, ctx.body);
      return {};
    },
  },
  {
    method: 'POST',
    path: '/mqtt/publish_batch',
    name: 'mqtt_publish_batch',
    descr: 'Batch publish MQTT messages',
    // as the spec's example: {"data":[{"topic":"a/b/c","code":0}, ...],"code":0}
    handle: async (ctx) => ({ data: await batch(ctx, (item, where) => publish(ctx, item, where), (item, code) => ({ topic: itemTopic(item), code })) }),
  },
  {
    method: 'POST',
    path: '/mqtt/subscribe_batch',
    name: 'mqtt_subscribe_batch',
    descr: 'Batch subscribes topics',
    // the spec's example shows only {"code":0}; EMQX 4.x also answers each item's result in `data`
    handle: async (ctx) => ({
      data: await batch(ctx, (item, where) => subscribe(ctx, item, where), (item, code) => ({ clientid: itemClientid(item), topic: itemTopic(item), code })),
    }),
  },
  {
    method: 'POST',
    path: '/mqtt/unsubscribe_batch',
    name: 'mqtt_unsubscribe_batch',
    descr: 'Batch unsubscribes topics',
    handle: async (ctx) => ({
      data: await batch(ctx, (item, where) => unsubscribe(ctx, item, where), (item, code) => ({ clientid: itemClientid(item), topic: itemTopic(item), code })),
    }),
  },
];
