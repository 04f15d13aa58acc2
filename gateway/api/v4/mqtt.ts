import type { SchemaObject } from 'ajv';
import { CODE } from '../../../shared/result-codes.js';
import type { PublishProperties } from '../../../shared/api/mqtt.js';
import type { QoS } from '../../../shared/message.js';
import { parseShare, validTopicFilter, validTopicName } from '../../../shared/topic.js';
import type { ApiContext, Endpoint, Resource } from '../endpoint.js';
import { ApiError, asApiError, badParam, missing } from '../errors.js';
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
 * A publish's `clientid` is required, as the spec's table marks it: left out it is 107 like
 * every other missing required parameter (a batch answers it per item). Where EMQX is
 * otherwise more lenient than the table, EMQX's behaviour is kept, so that a script that
 * works against EMQX works here: the `payload` may be left out (then empty), `topic` wins
 * over `topics`, and a JSON object as `payload` is sent as its JSON text.
 */

/** A QoS field: an integer that is not 0, 1 or 2 is 116 (bad QoS), not 108. */
const QOS = { type: 'integer', enum: [0, 1, 2], errorCode: CODE.BAD_QOS };
const TOPICS = { topic: { type: 'string' }, topics: { type: 'string' } };
const U32 = { type: 'integer', minimum: 0, maximum: 0xffffffff };

interface TopicsBody {
  topic?: string;
  topics?: string;
}

interface PublishBody extends TopicsBody {
  clientid: string;
  payload?: string | Record<string, unknown>;
  encoding?: 'plain' | 'base64';
  qos?: 0 | 1 | 2;
  retain?: boolean;
  properties?: PublishProperties;
}

interface SubscribeBody extends TopicsBody {
  clientid: string;
  qos?: 0 | 1 | 2;
}

type UnsubscribeBody = TopicsBody & { clientid: string };

/**
 * The ranges of the MQTT 5 PUBLISH properties (shared/api/mqtt.ts declares them, one key
 * each here); others are dropped, as EMQX ignores them.
 */
const PROPERTIES = {
  type: 'object',
  additionalProperties: false,
  properties: {
    payload_format_indicator: { type: 'integer', enum: [0, 1] },
    message_expiry_interval: U32,
    response_topic: { type: 'string', minLength: 1 },
    correlation_data: { type: 'string' },
    subscription_identifier: { type: 'integer', minimum: 1, maximum: 268435455 },
    user_properties: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
    content_type: { type: 'string' },
  } satisfies { [K in keyof PublishProperties]-?: SchemaObject },
};

const publishBody = bodySchema<PublishBody>({
  type: 'object',
  required: ['clientid'],
  properties: {
    ...TOPICS,
    clientid: { type: 'string' },
    payload: { anyOf: [{ type: 'string' }, { type: 'object' }] },
    encoding: { type: 'string', enum: ['plain', 'base64'] },
    qos: QOS,
    retain: { type: 'boolean' },
    properties: PROPERTIES,
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

/** A Response Topic is a topic name [MQTT-3.3.2-14]: 108 for a filter. */
function checkProperties(p: PublishProperties | undefined): void {
  if (p?.response_topic !== undefined && !validTopicName(p.response_topic)) {
    throw badParam('properties.response_topic', 'must be a topic name without wildcards');
  }
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
  checkProperties(b.properties);
  const properties = b.properties;
  const clientid = b.clientid;
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
async function onClientNode(ctx: ApiContext, op: 'subscribe' | 'unsubscribe', clientid: string, topics: string[], qos: QoS): Promise<void> {
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
    const e = asApiError(err);
    if (e) return e.code;
    throw err;
  }
}

/**
 * A batch: the body must be an array (108 otherwise); its items run one after the other, in
 * order (a batch of publishes to one topic arrives in order), each answered with its own code.
 */
async function batch(ctx: ApiContext, op: Op): Promise<unknown[]> {
  if (!Array.isArray(ctx.body)) throw badParam('body', 'must be a JSON array');
  const out: unknown[] = [];
  for (const [i, item] of ctx.body.entries()) out.push(op.row(item, await itemCode(() => op.run(ctx, item, `[${i}]`))));
  return out;
}

/** One operation: POST /mqtt/<name> runs it on the body, POST /mqtt/<name>_batch on each item of an array. */
interface Op {
  name: 'publish' | 'subscribe' | 'unsubscribe';
  descr: string;
  batchDescr: string;
  run(ctx: ApiContext, body: unknown, where?: string): Promise<void>;
  /** a batch item's answer */
  row(item: unknown, code: number): unknown;
}

const OPS: Op[] = [
  // as the spec's example: {"data":[{"topic":"a/b/c","code":0}, ...],"code":0}
  { name: 'publish', descr: 'Publish a MQTT message', batchDescr: 'Batch publish MQTT messages', run: publish, row: (item, code) => ({ topic: itemTopic(item), code }) },
  // the spec's example shows only {"code":0}; EMQX 4.x also answers each item's result in `data`
  { name: 'subscribe', descr: 'Subscribe a topic', batchDescr: 'Batch subscribes topics', run: subscribe, row: (item, code) => ({ clientid: itemClientid(item), topic: itemTopic(item), code }) },
  { name: 'unsubscribe', descr: 'Unsubscribe a topic', batchDescr: 'Batch unsubscribes topics', run: unsubscribe, row: (item, code) => ({ clientid: itemClientid(item), topic: itemTopic(item), code }) },
];

export const mqtt: Resource = [
  ...OPS.map(
    (op): Endpoint => ({
      method: 'POST',
      path: `/mqtt/${op.name}`,
      name: `mqtt_${op.name}`,
      descr: op.descr,
      handle: async (ctx) => {
        await op.run(ctx, ctx.body);
        return {};
      },
    }),
  ),
  ...OPS.map(
    (op): Endpoint => ({
      method: 'POST',
      path: `/mqtt/${op.name}_batch`,
      name: `mqtt_${op.name}_batch`,
      descr: op.batchDescr,
      handle: async (ctx) => ({ data: await batch(ctx, op) }),
    }),
  ),
];
