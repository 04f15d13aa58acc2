/** The mqtt resource on this node (POST /api/v4/mqtt/publish, /subscribe, /unsubscribe). */
import type { MQTT_PARAMS, PublishProperties } from '../../shared/api/mqtt.js';
import { newMessage, type MessageProperties } from '../../shared/message.js';
import { CODE } from '../../shared/result-codes.js';
import { RpcError, type RpcHandlers } from '../../shared/rpc.js';
import { validTopicName } from '../../shared/topic.js';
import type { Broker } from '../broker.js';
import type { SubOptions } from '../router/router.js';

/** The API's snake_case MQTT 5 properties as the message carries them; undefined when there are none. */
function messageProperties(p: PublishProperties | undefined): MessageProperties | undefined {
  if (!p) return undefined;
  const out: MessageProperties = {};
  let any = false;
  if (p.payload_format_indicator !== undefined) (out.payloadFormatIndicator = p.payload_format_indicator !== 0), (any = true);
  if (p.content_type !== undefined) (out.contentType = p.content_type), (any = true);
  if (p.response_topic !== undefined) (out.responseTopic = p.response_topic), (any = true);
  if (p.correlation_data !== undefined) (out.correlationData = Buffer.from(p.correlation_data)), (any = true);
  if (p.user_properties !== undefined && Object.keys(p.user_properties).length > 0) {
    // EMQX's own example sends numbers as values; a User Property is a UTF-8 string pair
    out.userProperties = Object.fromEntries(Object.entries(p.user_properties).map(([k, v]) => [k, String(v)]));
    any = true;
  }
  return any ? out : undefined;
}

export function mqttHandlers(b: Broker): Pick<RpcHandlers, keyof typeof MQTT_PARAMS> {
  return {
    'mqtt.publish': async (p) => {
      if (!validTopicName(p.topic, { maxLevels: b.cfg.maxTopicLevels })) throw new RpcError(CODE.BAD_TOPIC, `invalid topic: ${p.topic}`);
      const now = Date.now();
      const expiry = p.properties?.message_expiry_interval;
      const r = b.publish(
        newMessage({
          topic: p.topic,
          payload: Buffer.from(p.payload, 'base64'),
          qos: p.qos,
          retain: p.retain,
          from: p.clientid,
          timestamp: now,
          expiresAt: expiry === undefined ? undefined : now + expiry * 1000,
          properties: messageProperties(p.properties),
        }),
      );
      // like a client's QoS 1/2 PUBLISH, answered once what went to other nodes has left
      // (r is the broker's reused result: read it before awaiting)
      const delivered = r.delivered;
      const flushed = r.flushed;
      if (flushed) await flushed;
      return delivered;
    },
    'mqtt.subscribe': ({ clientid, topic, qos }) => {
      const session = b.sessions.get(clientid);
      if (!session) return null;
      const opts: SubOptions = { qos, nl: false, rap: false, rh: 0, subId: undefined, share: undefined };
      const r = b.subscribe(session, topic, opts);
      // retained messages follow as for a SUBSCRIBE with Retain Handling 0; shared subscriptions get none
      if (r.code < 0x80 && r.opts.share === undefined) {
        for (const msg of b.retained.match(r.filter)) session.deliverRetained(msg, r.opts);
      }
      return r.code;
    },
    'mqtt.unsubscribe': ({ clientid, topic }) => {
      const session = b.sessions.get(clientid);
      return session ? b.unsubscribe(session, topic) : null;
    },
  };
}
