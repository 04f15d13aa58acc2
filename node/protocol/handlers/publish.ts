import { isUtf8 } from 'node:buffer';
import type { IPublishPacket } from 'mqtt-packet';
import { newMessage } from '../../../shared/message.js';
import { validTopicName } from '../../../shared/topic.js';
import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnection } from '../../core/ports.js';
import { RC } from '../reason-codes.js';
import { pickMessageProperties } from './connect.js';

const M_PUBLISH_RECEIVED = metricIndex('packets.publish.received');
const M_MESSAGES_RECEIVED = metricIndex('messages.received');
const M_QOS_RECEIVED = [metricIndex('messages.qos0.received'), metricIndex('messages.qos1.received'), metricIndex('messages.qos2.received')];
const M_PUBLISH_ERROR = metricIndex('packets.publish.error');
const M_PUBLISH_AUTH_ERROR = metricIndex('packets.publish.auth_error');
const M_PUBLISH_INUSE = metricIndex('packets.publish.inuse');
const M_PUBLISH_DROPPED = metricIndex('packets.publish.dropped');
const M_MESSAGES_DROPPED = metricIndex('messages.dropped');
const M_DROPPED_EXPIRED = metricIndex('messages.dropped.expired');

/** PUBLISH from a client [MQTT-3.3]: checks, ACL, QoS 2 receive state, routing, acknowledgement. */
export function handlePublish(conn: ClientConnection, pkt: IPublishPacket): void {
  const b = conn.broker;
  const cfg = b.cfg;
  const m = b.metrics;
  const qos = pkt.qos;
  const id = pkt.messageId ?? 0;
  m.inc(M_PUBLISH_RECEIVED);
  m.inc(M_MESSAGES_RECEIVED);
  m.inc(M_QOS_RECEIVED[qos]!);
  conn.recvMsg++;
  if (qos > 0 && id === 0) return conn.protocolError(RC.PROTOCOL_ERROR, 'protocol_error'); // [MQTT-2.3.1-1]

  let topic = pkt.topic;
  const props = pkt.properties;
  if (props !== undefined) {
    // [MQTT-3.3.2-12, MQTT-3.3.2-8] topic aliases set by the client
    const alias = props.topicAlias;
    if (alias !== undefined) {
      if (alias === 0 || alias > cfg.maxTopicAlias) return conn.protocolError(RC.TOPIC_ALIAS_INVALID, 'protocol_error');
      if (topic === '') {
        const known = conn.inAliases?.get(alias);
        if (known === undefined) return conn.protocolError(RC.PROTOCOL_ERROR, 'protocol_error');
        topic = known;
      } else {
        (conn.inAliases ??= new Map()).set(alias, topic);
      }
    }
    // [MQTT-3.3.4-6] a client must not send a Subscription Identifier
    if (props.subscriptionIdentifier !== undefined) return conn.protocolError(RC.PROTOCOL_ERROR, 'protocol_error');
  }
  if (!validTopicName(topic, { maxLevels: cfg.maxTopicLevels })) {
    m.inc(M_PUBLISH_ERROR);
    return conn.protocolError(RC.TOPIC_NAME_INVALID, 'protocol_error');
  }
  if (qos > cfg.maxQosAllowed) {
    m.inc(M_PUBLISH_ERROR);
    return conn.protocolError(RC.QOS_NOT_SUPPORTED, 'protocol_error');
  }
  if (pkt.retain && !cfg.retainAvailable) {
    m.inc(M_PUBLISH_ERROR);
    return conn.protocolError(RC.RETAIN_NOT_SUPPORTED, 'protocol_error');
  }
  const payload = typeof pkt.payload === 'string' ? Buffer.from(pkt.payload) : pkt.payload;
  if (props?.payloadFormatIndicator === true && !isUtf8(payload)) {
    m.inc(M_PUBLISH_ERROR);
    return ack(conn, qos, id, RC.PAYLOAD_FORMAT_INVALID);
  }

  if (b.access.check(conn, conn.aclCache, 'publish', topic) === 'deny') {
    // EMQX's acl_deny_action = ignore: MQTT 3.x clients are acknowledged, MQTT 5 clients told why
    m.inc(M_PUBLISH_AUTH_ERROR);
    return ack(conn, qos, id, RC.NOT_AUTHORIZED);
  }

  const session = conn.session!;
  /** a durable session's record with this packet id awaiting PUBREL, once stored */
  let stored: Promise<void> | undefined;
  if (qos === 2) {
    if (session.awaitingRel.has(id)) {
      // a resent QoS 2 PUBLISH before PUBREL: acknowledge again, do not deliver twice [MQTT-4.3.3-10]
      m.inc(M_PUBLISH_INUSE);
      return ack(conn, 2, id, pkt.dup ? RC.SUCCESS : RC.PACKET_IDENTIFIER_IN_USE);
    }
    if (cfg.maxAwaitingRel > 0 && session.awaitingRel.size >= cfg.maxAwaitingRel) {
      m.inc(M_PUBLISH_DROPPED);
      m.inc(M_MESSAGES_DROPPED);
      if (conn.version === 5) return conn.protocolError(RC.RECEIVE_MAXIMUM_EXCEEDED, 'protocol_error'); // [MQTT-3.3.4-9]
      return ack(conn, 2, id, RC.RECEIVE_MAXIMUM_EXCEEDED);
    }
    stored = session.addAwaitingRel(id, conn.lastRecv);
  }

  const expiry = props?.messageExpiryInterval;
  if (expiry === 0) {
    m.inc(M_DROPPED_EXPIRED);
    m.inc(M_MESSAGES_DROPPED);
    return ack(conn, qos, id, RC.SUCCESS);
  }
  const msg = newMessage({
    topic,
    payload,
    qos,
    retain: pkt.retain,
    from: conn.info!.clientId,
    fromUsername: conn.info!.username,
    timestamp: conn.lastRecv, // read once per socket read, not once per message
    properties: props === undefined ? undefined : pickMessageProperties(props),
    expiresAt: expiry === undefined ? undefined : Date.now() + expiry * 1000,
  });
  // the result is the broker's reused object: read before anything publishes again
  const r = b.publish(msg);
  if (r.backlogged) conn.throttle();
  if (qos > 0) {
    const rc = r.delivered === 0 ? RC.NO_MATCHING_SUBSCRIBERS : RC.SUCCESS;
    const flushed = r.flushed;
    conn.ackPublish(qos === 1 ? 'puback' : 'pubrec', id, rc, stored === undefined ? flushed : flushed === undefined ? stored : Promise.all([flushed, stored]).then(() => undefined));
  }
}

function ack(conn: ClientConnection, qos: number, id: number, reasonCode: number): void {
  if (qos === 1) conn.sendAck('puback', id, reasonCode);
  else if (qos === 2) conn.sendAck('pubrec', id, reasonCode);
}
