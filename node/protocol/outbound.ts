import type { IPublishPacket, Packet } from 'mqtt-packet';
import type { Message, QoS } from '../../shared/message.js';
import { ConnState, type ClientSession } from '../core/ports.js';
import { metricIndex } from '../metrics/metrics.js';
import type { SubOptions } from '../router/router.js';
import { PublishEncoder, encodePacket } from './codec.js';
import { Outbox } from './outbox.js';

const M_PUBLISH_SENT = metricIndex('packets.publish.sent');
const M_MESSAGES_SENT = metricIndex('messages.sent');
const M_QOS_SENT = [metricIndex('messages.qos0.sent'), metricIndex('messages.qos1.sent'), metricIndex('messages.qos2.sent')];
const M_DROPPED_TOO_LARGE = metricIndex('delivery.dropped.too_large');
const M_DELIVERY_DROPPED = metricIndex('delivery.dropped');
const M_DISCONNECT_SENT = metricIndex('packets.disconnect.sent');
const ACK_METRIC: Record<string, number> = {
  puback: metricIndex('packets.puback.sent'),
  pubrec: metricIndex('packets.pubrec.sent'),
  pubrel: metricIndex('packets.pubrel.sent'),
  pubcomp: metricIndex('packets.pubcomp.sent'),
};
const ACK_TYPE: Record<string, number> = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 };

/**
 * The encoding layer of a connection: packets to this client, with its MQTT 5 limits
 * (Maximum Packet Size, Topic Alias Maximum) applied, queued on the write side below.
 */
export abstract class OutboundConnection extends Outbox {
  session: ClientSession | undefined = undefined;
  // MQTT 5 limits the client announced in CONNECT
  clientReceiveMax = 65535;
  clientMaxPacketSize = 0;
  clientTopicAliasMax = 0;
  problemInformation = true;
  sendMsg = 0;
  /** topic aliases we set towards the client (outbound), created on first use */
  private outAliases: Map<string, number> | undefined = undefined;

  sendPacket(packet: Packet): void {
    this.write(encodePacket(packet, this.version));
  }

  sendDisconnect(reasonCode: number): void {
    if (this.version !== 5 || this.state === ConnState.Closed) return;
    this.broker.metrics.inc(M_DISCONNECT_SENT);
    this.sendPacket({ cmd: 'disconnect', reasonCode });
  }

  /** PUBACK, PUBREC, PUBREL or PUBCOMP; the reason code is only sent to MQTT 5 clients and when not 0. */
  sendAck(cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', messageId: number, reasonCode: number): void {
    this.broker.metrics.inc(ACK_METRIC[cmd]!);
    if (this.version === 5 && reasonCode !== 0) {
      this.write(Buffer.from([ACK_TYPE[cmd]!, 3, messageId >> 8, messageId & 0xff, reasonCode]));
    } else {
      this.write(Buffer.from([ACK_TYPE[cmd]!, 2, messageId >> 8, messageId & 0xff]));
    }
  }

  /**
   * Sends one PUBLISH to this client. Messages without per-subscriber MQTT 5 properties use
   * the dispatch's shared encoding; the rest are encoded for this client by mqtt-packet.
   */
  sendPublish(msg: Message, qos: QoS, retain: boolean, opts: SubOptions | undefined, messageId: number, dup: boolean, enc: PublishEncoder | undefined): void {
    const v5 = this.version === 5;
    let buf: Buffer;
    if (v5 && (msg.properties !== undefined || msg.expiresAt !== undefined || opts?.subId !== undefined || this.clientTopicAliasMax > 0)) {
      buf = this.encodePublishV5(msg, qos, retain, opts, messageId, dup);
    } else {
      enc ??= new PublishEncoder(msg.topic, msg.payload);
      buf = qos === 0 ? enc.encode(0, retain, v5) : enc.withId(qos, retain, v5, messageId, dup);
    }
    const m = this.broker.metrics;
    if (this.clientMaxPacketSize > 0 && buf.length > this.clientMaxPacketSize) {
      // [MQTT-3.1.2-25] never send a packet larger than the client's Maximum Packet Size
      m.inc(M_DROPPED_TOO_LARGE);
      m.inc(M_DELIVERY_DROPPED);
      if (qos > 0) this.session?.dropInflight(messageId);
      const dropped = this.broker.hooks.messageDropped;
      if (dropped.active) dropped.emit({ message: msg, reason: 'too_large', clientid: this.session?.clientId });
      return;
    }
    m.inc(M_PUBLISH_SENT);
    m.inc(M_MESSAGES_SENT);
    m.inc(M_QOS_SENT[qos]!);
    this.sendMsg++;
    this.write(buf);
  }

  private encodePublishV5(msg: Message, qos: QoS, retain: boolean, opts: SubOptions | undefined, messageId: number, dup: boolean): Buffer {
    const properties: NonNullable<IPublishPacket['properties']> = { ...msg.properties };
    if (msg.expiresAt !== undefined) {
      // [MQTT-3.3.2-6] the interval sent is what remains of it
      properties.messageExpiryInterval = Math.max(1, Math.ceil((msg.expiresAt - Date.now()) / 1000));
    }
    // [MQTT-3.3.4-4] one copy for overlapping subscriptions carries all their identifiers
    if (opts?.subIds !== undefined) properties.subscriptionIdentifier = opts.subIds;
    else if (opts?.subId !== undefined) properties.subscriptionIdentifier = opts.subId;
    let topic = msg.topic;
    if (this.clientTopicAliasMax > 0 && !dup) {
      this.outAliases ??= new Map();
      const alias = this.outAliases.get(topic);
      if (alias !== undefined) {
        properties.topicAlias = alias;
        topic = '';
      } else if (this.outAliases.size < this.clientTopicAliasMax) {
        const next = this.outAliases.size + 1;
        this.outAliases.set(topic, next);
        properties.topicAlias = next;
      }
    }
    const buf = encodePacket({ cmd: 'publish', topic, payload: msg.payload, qos, retain, dup, messageId: qos > 0 ? messageId : undefined, properties }, 5);
    // a packet too large for the client is dropped by the caller: the alias it would have set is not known to the client
    if (topic !== '' && properties.topicAlias !== undefined && this.clientMaxPacketSize > 0 && buf.length > this.clientMaxPacketSize) this.outAliases!.delete(topic);
    return buf;
  }
}
