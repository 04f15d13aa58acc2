/**
 * An application message as it travels through the broker: from a publisher (or the API)
 * to the router, across nodes, into sessions and queues. The cluster forwards it as is.
 */
export type QoS = 0 | 1 | 2;

/** MQTT 5 PUBLISH properties that travel with the message end to end [MQTT-3.3.2]. */
export interface MessageProperties {
  payloadFormatIndicator?: boolean;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}

export interface Message {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** publisher's clientid (or the API's name) */
  from: string;
  fromUsername: string | undefined;
  /** epoch ms when the broker accepted it */
  timestamp: number;
  /** epoch ms after which it must not be delivered (MQTT 5 Message Expiry Interval) */
  expiresAt: number | undefined;
  properties: MessageProperties | undefined;
  /** broker-originated ($SYS, presence): not counted as messages.publish */
  sys: boolean;
}

export function newMessage(m: Pick<Message, 'topic' | 'payload' | 'qos' | 'retain' | 'from'> & Partial<Message>): Message {
  return {
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    from: m.from,
    fromUsername: m.fromUsername,
    timestamp: m.timestamp ?? Date.now(),
    expiresAt: m.expiresAt,
    properties: m.properties,
    sys: m.sys ?? false,
  };
}
