import type { ApiContext, Resource } from '../endpoint.js';
import { ApiError } from '../errors.js';
import { mqtt as v4Mqtt } from '../v4/mqtt.js';
import { over, v4, type Over } from './adapt.js';

/**
 * POST /mqtt/publish, /mqtt/subscribe, /mqtt/unsubscribe: v4's, with v3's body field
 * `client_id` for v4's `clientid` (the other fields are the same; v3 has no batch forms).
 */
function v4Body(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { client_id: clientid, ...rest } = body as Record<string, unknown>;
  return clientid === undefined ? rest : { ...rest, clientid };
}

const request = (ctx: ApiContext): ApiContext => ({ ...ctx, body: v4Body(ctx.body) });

/** A v4 endpoint under its v3 name; a refusal naming `clientid` names v3's `client_id`. */
function pubsub(op: 'publish' | 'subscribe' | 'unsubscribe', descr: string): Resource[number] {
  const o: Over = { path: `/mqtt/${op}`, name: `mqtt_${op}`, descr, request };
  const e = over(v4(v4Mqtt, `mqtt_${op}`), o);
  return {
    ...e,
    handle: (ctx) =>
      e.handle(ctx).catch((err: unknown) => {
        if (err instanceof ApiError && /\bclientid\b/.test(err.message)) throw new ApiError(err.status, err.code, err.message.replace(/\bclientid\b/g, 'client_id'));
        throw err;
      }),
  };
}

export const mqtt: Resource = [pubsub('publish', 'Publish a MQTT message'), pubsub('subscribe', 'Subscribe a topic'), pubsub('unsubscribe', 'Unsubscribe a topic')];
