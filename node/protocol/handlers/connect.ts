import { randomBytes } from 'node:crypto';
import type { IConnectPacket, IConnackPacket } from 'mqtt-packet';
import { newMessage, type MessageProperties, type QoS } from '../../../shared/message.js';
import { validTopicName } from '../../../shared/topic.js';
import { metricIndex } from '../../metrics/metrics.js';
import type { ClientConnectEvent } from '../../core/hooks.js';
import { ConnState, type ClientConnection, type ClientSession, type ConnectInfo } from '../../core/ports.js';
import { RC, connackV3Code, type ShutdownReason } from '../reason-codes.js';

const M_CONNECT_RECEIVED = metricIndex('packets.connect.received');
const M_CLIENT_CONNECT = metricIndex('client.connect');
const M_CLIENT_CONNACK = metricIndex('client.connack');
const M_CONNACK_SENT = metricIndex('packets.connack.sent');
const M_CONNACK_ERROR = metricIndex('packets.connack.error');
const M_CONNACK_AUTH_ERROR = metricIndex('packets.connack.auth_error');
const M_CLIENT_AUTHENTICATE = metricIndex('client.authenticate');
const M_AUTH_ANONYMOUS = metricIndex('client.auth.anonymous');
const M_CLIENT_CONNECTED = metricIndex('client.connected');

/** CONNECT [MQTT-3.1]: checks, authentication, session open or takeover, CONNACK. */
export function handleConnect(conn: ClientConnection, p: IConnectPacket): void {
  const b = conn.broker;
  const cfg = b.cfg;
  const m = b.metrics;
  m.inc(M_CONNECT_RECEIVED);
  m.inc(M_CLIENT_CONNECT);
  if (conn.state === ConnState.Connected) {
    // [MQTT-3.1.0-2] a second CONNECT is a protocol violation
    return conn.protocolError(RC.PROTOCOL_ERROR, 'protocol_error');
  }
  const version = p.protocolVersion ?? 4;
  conn.version = version;
  const hooks = b.hooks;
  if (hooks.clientConnect.active) hooks.clientConnect.emit(connectEvent(conn, p));
  const refuse = (rc5: number, reason: ShutdownReason, authError = false): void => {
    m.inc(M_CONNACK_ERROR);
    if (authError) m.inc(M_CONNACK_AUTH_ERROR);
    if (hooks.clientConnack.active) hooks.clientConnack.emit({ ...connectEvent(conn, p), reasonCode: rc5, connectedAt: undefined });
    sendConnack(conn, rc5, false, undefined);
    conn.close(reason);
  };
  // [MQTT-3.1.2-1] protocol name and level go together: MQIsdp with 3, MQTT with 4 and 5
  if ((version === 3) !== (p.protocolId === 'MQIsdp')) return refuse(RC.UNSUPPORTED_PROTOCOL_VERSION, 'protocol_error');

  const props = p.properties ?? {};
  if (version === 5) {
    if (props.receiveMaximum === 0 || props.maximumPacketSize === 0) return conn.close('protocol_error'); // [MQTT-3.1.2-?] zero is a protocol error
    conn.clientReceiveMax = props.receiveMaximum ?? 65535;
    conn.clientMaxPacketSize = props.maximumPacketSize ?? 0;
    conn.clientTopicAliasMax = props.topicAliasMaximum ?? 0;
    conn.problemInformation = props.requestProblemInformation !== false;
    // enhanced authentication is not offered [MQTT-4.12]
    if (props.authenticationMethod !== undefined) return refuse(RC.BAD_AUTHENTICATION_METHOD, 'not_authorized', true);
  }

  const clean = p.clean !== false;
  let clientId = p.clientId ?? '';
  let assigned = false;
  if (clientId === '') {
    // MQTT 3.1 requires an identifier; 3.1.1 allows an empty one only with a clean session [MQTT-3.1.3-7, MQTT-3.1.3-8]
    if (version === 3 || (version === 4 && !clean)) return refuse(RC.CLIENT_IDENTIFIER_NOT_VALID, 'protocol_error');
    clientId = `starling-${randomBytes(8).toString('hex')}`;
    assigned = version === 5;
  }
  if (clientId.length > cfg.maxClientIdLen) return refuse(RC.CLIENT_IDENTIFIER_NOT_VALID, 'protocol_error');

  // a verified client certificate names the client instead (peer_cert_as_username), as EMQX does
  const username = conn.certUsername ?? (p.username === '' ? undefined : p.username);
  if (b.banned.isBanned({ clientid: clientId, username, peerhost: conn.peerHost })) return refuse(RC.BANNED, 'banned', true);

  m.inc(M_CLIENT_AUTHENTICATE);
  const auth = b.auth.authenticate(username, p.password);
  if (auth === 'bad_username_or_password') return refuse(RC.BAD_USERNAME_OR_PASSWORD, 'not_authorized', true);
  if (auth === 'not_authorized') return refuse(RC.NOT_AUTHORIZED, 'not_authorized', true);
  if (auth === 'anonymous') m.inc(M_AUTH_ANONYMOUS);

  let will = undefined;
  let willDelay = 0;
  let willExpiry: number | undefined;
  if (p.will) {
    const w = p.will;
    if (!validTopicName(w.topic, { maxLevels: cfg.maxTopicLevels })) return refuse(RC.TOPIC_NAME_INVALID, 'protocol_error');
    if ((w.qos ?? 0) > cfg.maxQosAllowed) return refuse(RC.QOS_NOT_SUPPORTED, 'protocol_error');
    if (w.retain && !cfg.retainAvailable) return refuse(RC.RETAIN_NOT_SUPPORTED, 'protocol_error');
    const wp = w.properties ?? {};
    willDelay = wp.willDelayInterval ?? 0;
    will = newMessage({
      topic: w.topic,
      payload: Buffer.isBuffer(w.payload) ? Buffer.from(w.payload) : Buffer.from(w.payload ?? ''),
      qos: (w.qos ?? 0) as QoS,
      retain: w.retain ?? false,
      from: clientId,
      fromUsername: username,
      properties: pickMessageProperties(wp),
    });
    willExpiry = wp.messageExpiryInterval;
  }

  let keepalive = p.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  if (cfg.serverKeepalive > 0 && (keepalive === 0 || keepalive > cfg.serverKeepalive)) {
    keepalive = cfg.serverKeepalive;
    if (version === 5) serverKeepAlive = keepalive;
  }

  // MQTT 3.x persistent sessions expire after the configured interval; MQTT 5 says its own [MQTT-3.1.2.11.2]
  const expiry = version === 5 ? (props.sessionExpiryInterval ?? 0) : clean ? 0 : cfg.sessionExpiryInterval;
  const info: ConnectInfo = {
    clientId,
    username,
    protoName: version === 3 ? 'MQIsdp' : 'MQTT',
    keepalive,
    cleanStart: clean,
    isBridge: (p as { bridgeMode?: boolean }).bridgeMode === true,
    connectedAt: Date.now(),
    will,
    willDelay,
    willExpiry,
  };
  // the session may live on another node: packets after CONNECT wait until it is here
  conn.hold();
  b.openClusterSession(conn, clientId, clean, expiry).then(
    (opened) => {
      if (conn.state === ConnState.Closed) return;
      accept(conn, info, opened.session, opened.present, assigned, serverKeepAlive);
      conn.release();
    },
    (err: Error) => {
      b.log.warn({ clientid: clientId, err: err.message }, 'cannot open session');
      refuse(RC.SERVER_UNAVAILABLE, 'protocol_error');
    },
  );
}

/** The session is open: CONNACK, then anything owed to a resumed session. */
function accept(conn: ClientConnection, info: ConnectInfo, session: ClientSession, present: boolean, assigned: boolean, serverKeepAlive: number | undefined): void {
  const b = conn.broker;
  const cfg = b.cfg;
  conn.accept(info);
  conn.aclCache = b.access.newCache();
  const connackProps: NonNullable<IConnackPacket['properties']> | undefined =
    conn.version === 5
      ? {
          receiveMaximum: cfg.maxAwaitingRel > 0 ? Math.min(cfg.maxAwaitingRel, 65535) : 65535,
          maximumPacketSize: cfg.maxPacketSize,
          topicAliasMaximum: cfg.maxTopicAlias,
          retainAvailable: cfg.retainAvailable,
          wildcardSubscriptionAvailable: cfg.wildcardSubscription,
          sharedSubscriptionAvailable: cfg.sharedSubscription,
          subscriptionIdentifiersAvailable: true,
          ...(cfg.maxQosAllowed < 2 ? { maximumQoS: cfg.maxQosAllowed } : {}),
          ...(assigned ? { assignedClientIdentifier: info.clientId } : {}),
          ...(serverKeepAlive !== undefined ? { serverKeepAlive } : {}),
        }
      : undefined;
  const ack = b.hooks.clientConnack;
  if (ack.active) {
    ack.emit({ clientid: info.clientId, username: info.username, peerhost: conn.peerHost, keepalive: info.keepalive, protoVer: conn.version, reasonCode: RC.SUCCESS, connectedAt: info.connectedAt });
  }
  sendConnack(conn, RC.SUCCESS, present, connackProps);
  b.metrics.inc(M_CLIENT_CONNECTED);
  b.clientConnected(conn);
  if (present) session.resume();
}

/** The client.connect hook's view of a CONNECT, as sent. */
function connectEvent(conn: ClientConnection, p: IConnectPacket): ClientConnectEvent {
  return { clientid: p.clientId ?? '', username: p.username === '' ? undefined : p.username, peerhost: conn.peerHost, keepalive: p.keepalive ?? 0, protoVer: conn.version };
}

function sendConnack(conn: ClientConnection, rc5: number, sessionPresent: boolean, properties: IConnackPacket['properties']): void {
  const m = conn.broker.metrics;
  m.inc(M_CONNACK_SENT);
  m.inc(M_CLIENT_CONNACK);
  if (conn.version === 5) {
    conn.sendPacket({ cmd: 'connack', reasonCode: rc5, sessionPresent, properties });
  } else {
    // [MQTT-3.2.2-4] session present is 0 on a refusal
    conn.sendPacket({ cmd: 'connack', returnCode: connackV3Code(rc5), sessionPresent: rc5 === 0 && sessionPresent });
  }
}

/** The MQTT 5 properties that travel with a message end to end. */
export function pickMessageProperties(p: {
  payloadFormatIndicator?: boolean;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}): MessageProperties | undefined {
  const out: MessageProperties = {};
  let any = false;
  if (p.payloadFormatIndicator !== undefined) (out.payloadFormatIndicator = p.payloadFormatIndicator), (any = true);
  if (p.contentType !== undefined) (out.contentType = p.contentType), (any = true);
  if (p.responseTopic !== undefined) (out.responseTopic = p.responseTopic), (any = true);
  if (p.correlationData !== undefined) (out.correlationData = p.correlationData), (any = true);
  if (p.userProperties !== undefined) (out.userProperties = p.userProperties), (any = true);
  return any ? out : undefined;
}
