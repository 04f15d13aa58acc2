/** MQTT 5 reason codes [MQTT-2.4] and their MQTT 3.x CONNACK equivalents, declared once. */
export const RC = {
  SUCCESS: 0x00,
  GRANTED_QOS_1: 0x01,
  GRANTED_QOS_2: 0x02,
  DISCONNECT_WITH_WILL: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USERNAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  BANNED: 0x8a,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_IDENTIFIER_IN_USE: 0x91,
  PACKET_IDENTIFIER_NOT_FOUND: 0x92,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  QUOTA_EXCEEDED: 0x97,
  ADMINISTRATIVE_ACTION: 0x98,
  PAYLOAD_FORMAT_INVALID: 0x99,
  RETAIN_NOT_SUPPORTED: 0x9a,
  QOS_NOT_SUPPORTED: 0x9b,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
  SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: 0xa1,
  WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: 0xa2,
} as const;

/** MQTT 3.x CONNACK return codes [MQTT-3.2.2.3]. */
export const CONNACK_V3 = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

/** The MQTT 3.x return code closest to an MQTT 5 CONNACK reason code, as EMQX maps them. */
export function connackV3Code(rc5: number): number {
  switch (rc5) {
    case RC.SUCCESS:
      return CONNACK_V3.ACCEPTED;
    case RC.UNSUPPORTED_PROTOCOL_VERSION:
      return CONNACK_V3.UNACCEPTABLE_PROTOCOL_VERSION;
    case RC.CLIENT_IDENTIFIER_NOT_VALID:
      return CONNACK_V3.IDENTIFIER_REJECTED;
    case RC.BAD_USERNAME_OR_PASSWORD:
      return CONNACK_V3.BAD_USERNAME_OR_PASSWORD;
    case RC.SERVER_UNAVAILABLE:
    case RC.SERVER_BUSY:
      return CONNACK_V3.SERVER_UNAVAILABLE;
    default:
      return CONNACK_V3.NOT_AUTHORIZED;
  }
}

/** Why a connection ended: the listener's shutdown_count keys and presence `reason`, as EMQX names them. */
export type ShutdownReason =
  | 'normal'
  | 'kicked'
  | 'discarded'
  | 'takeovered'
  | 'keepalive_timeout'
  | 'tcp_closed'
  | 'idle_timeout'
  | 'protocol_error'
  | 'malformed_packet'
  | 'frame_too_large'
  | 'not_authorized'
  | 'banned'
  | 'max_conns'
  | 'conn_rate_limit'
  | 'shutdown'
  | 'send_error'
  | 'send_timeout';
