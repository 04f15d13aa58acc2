/**
 * The mqtt resource (POST /api/v4/mqtt/publish, /subscribe, /unsubscribe and their batches):
 * the node that publishes or holds the client does the work.
 */
import { optional, type ParamShapes, type RpcOf, type Shape, type ShapeOf } from './params-schema.js';

/**
 * A publish's MQTT 5 properties as the API names them (snake_case), the body's and the
 * RPC's alike: the gateway checks their ranges and passes them on, the node turns them into
 * the message's properties (node/rpc/mqtt.ts).
 */
export const PUBLISH_PROPERTIES = {
  payload_format_indicator: optional('int'),
  /** seconds */
  message_expiry_interval: optional('int'),
  response_topic: optional('string'),
  correlation_data: optional('string'),
  /** one per message only makes sense for a subscription: accepted and not used, as by EMQX */
  subscription_identifier: optional('int'),
  /** EMQX's own example sends numbers as values */
  user_properties: optional({ record: 'text' }),
  content_type: optional('string'),
} as const satisfies Shape;
export type PublishProperties = ShapeOf<typeof PUBLISH_PROPERTIES>;

export const MQTT_PARAMS = {
  /** a publish on behalf of the API, as if received on this node; `payload` is base64 of its bytes */
  'mqtt.publish': {
    topic: 'string',
    payload: 'string',
    qos: 'qos',
    retain: 'bool',
    clientid: 'string',
    properties: optional({ object: PUBLISH_PROPERTIES }),
  },
  'mqtt.subscribe': { clientid: 'string', topic: 'string', qos: 'qos' },
  'mqtt.unsubscribe': { clientid: 'string', topic: 'string' },
} as const satisfies ParamShapes;
export type PublishParams = ShapeOf<(typeof MQTT_PARAMS)['mqtt.publish']>;

export interface MqttReplies {
  /** the number of deliveries */
  'mqtt.publish': number;
  /** the SUBACK reason code; null when the client is not on this node */
  'mqtt.subscribe': number | null;
  /** the UNSUBACK reason code; null when the client is not on this node */
  'mqtt.unsubscribe': number | null;
}
export type MqttRpc = RpcOf<typeof MQTT_PARAMS, MqttReplies>;
