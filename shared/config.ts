import { readFileSync } from 'node:fs';

/**
 * Every setting of every entry point, declared once as data. The same table drives
 * parsing (config file, then environment, which wins), validation and `--help`.
 */
type Kind = 'string' | 'int' | 'bool' | 'float' | 'enum';

export interface OptionSpec {
  env: string;
  kind: Kind;
  default: string | number | boolean | undefined;
  values?: readonly string[];
  help: string;
}

const options = {
  nodeName: { env: 'STARLING_NODE_NAME', kind: 'string', default: 'starling@127.0.0.1', help: 'node name, as EMQX names nodes (name@host)' },
  bind: { env: 'STARLING_BIND', kind: 'string', default: '0.0.0.0', help: 'address the listeners bind to' },
  mqttPort: { env: 'STARLING_MQTT_PORT', kind: 'int', default: 1883, help: 'MQTT over TCP port (0 picks a free port, -1 disables)' },
  wsPort: { env: 'STARLING_WS_PORT', kind: 'int', default: 8083, help: 'MQTT over WebSocket port, path /mqtt (0 picks a free port, -1 disables)' },
  wsPath: { env: 'STARLING_WS_PATH', kind: 'string', default: '/mqtt', help: 'WebSocket path' },
  mqttsPort: { env: 'STARLING_MQTTS_PORT', kind: 'int', default: 8883, help: 'MQTT over TLS port, only when a certificate and key are set (0 picks a free port)' },
  tlsCert: { env: 'STARLING_TLS_CERT', kind: 'string', default: undefined, help: 'PEM certificate file for the TLS listener' },
  tlsKey: { env: 'STARLING_TLS_KEY', kind: 'string', default: undefined, help: 'PEM private key file for the TLS listener' },
  tlsCa: { env: 'STARLING_TLS_CA', kind: 'string', default: undefined, help: "PEM file of the CAs the TLS listener checks client certificates against (EMQX's cacertfile; needed by STARLING_TLS_VERIFY_PEER)" },
  tlsVerifyPeer: { env: 'STARLING_TLS_VERIFY_PEER', kind: 'bool', default: false, help: "TLS listener: ask clients for a certificate and refuse one that STARLING_TLS_CA did not sign (EMQX's verify_peer); a client without one is let in unless STARLING_TLS_FAIL_IF_NO_PEER_CERT" },
  tlsFailIfNoPeerCert: { env: 'STARLING_TLS_FAIL_IF_NO_PEER_CERT', kind: 'bool', default: false, help: 'TLS listener with STARLING_TLS_VERIFY_PEER: refuse a client that sends no certificate (mutual TLS only)' },
  tlsPeerCertAsUsername: { env: 'STARLING_TLS_PEER_CERT_AS_USERNAME', kind: 'enum', default: 'none', values: ['none', 'cn', 'dn'], help: "TLS listener with STARLING_TLS_VERIFY_PEER: the username of a client with a verified certificate is its subject's CN (`cn`) or whole subject (`dn`, e.g. CN=dev1,O=acme) instead of CONNECT's, for auth, ACL, bans and the API (EMQX's peer_cert_as_username)" },
  apiPort: { env: 'STARLING_API_PORT', kind: 'int', default: 8081, help: 'management API port: the gateway, or a standalone node (0 picks a free port, -1 disables)' },
  apiMaxConns: { env: 'STARLING_API_MAX_CONNS', kind: 'int', default: 512, help: "concurrent connections a standalone node's management API accepts, EMQX's management max_connections (a gateway's are not limited here)" },
  apiTlsCert: { env: 'STARLING_API_TLS_CERT', kind: 'string', default: undefined, help: 'management API: PEM certificate file (chain first) for HTTPS; with STARLING_API_TLS_KEY the gateway (or standalone node) serves HTTPS' },
  apiTlsKey: { env: 'STARLING_API_TLS_KEY', kind: 'string', default: undefined, help: 'management API: PEM private key file of STARLING_API_TLS_CERT' },
  apiTlsPort: { env: 'STARLING_API_TLS_PORT', kind: 'int', default: -1, help: 'management API: with a certificate, a port of its own for HTTPS beside plain HTTP on the others (0 picks a free port); -1: the API port, EMQX 3.x\'s and the dashboard\'s speak HTTPS instead of HTTP' },
  apiV3Port: { env: 'STARLING_API_V3_PORT', kind: 'int', default: -1, help: "a second management API port, as EMQX 3.x's 8080: the same API (/api/v3 and /api/v4) (0 picks a free port, -1: off)" },
  natsUrl: { env: 'NATS_URL', kind: 'string', default: undefined, help: 'NATS server URL, or a comma list of a NATS cluster\'s servers (nats://a:4222,nats://b:4222,…: the node moves to another one when its server is lost); with REDIS_URL the node joins a cluster (unset: standalone)' },
  redisUrl: { env: 'REDIS_URL', kind: 'string', default: undefined, help: 'Redis URL (redis://host:port), or a primary with replicas watched by Sentinel: redis-sentinel://[:password@]host:port,host:port,…/<master name> (the sentinels\' addresses; the node follows a failover); with NATS_URL the node joins a cluster (unset: standalone)' },
  natsMaxBacklogMb: { env: 'STARLING_NATS_MAX_BACKLOG_MB', kind: 'int', default: 16, help: 'MB the NATS server may be behind what a node sent it: from half of it the node stops reading the publishers whose messages go to other nodes until it catches up, and beyond it QoS 0 forwards are dropped' },
  rpcTimeoutMs: { env: 'STARLING_RPC_TIMEOUT_MS', kind: 'int', default: 5000, help: 'timeout of one RPC to a node, in ms' },
  heartbeatMs: { env: 'STARLING_HEARTBEAT_MS', kind: 'int', default: 1000, help: 'how often a node renews its membership in the cluster registry' },
  routeBatchMax: { env: 'STARLING_ROUTE_BATCH_MAX', kind: 'int', default: 1000, help: 'route writes (subscribe, unsubscribe, shared member counts) a node sends the cluster store in one batch, one script call and one notice to every node; the writes of an I/O turn go together, and while a batch is in flight the next ones gather (1: one write at a time; at most 10000)' },
  heartbeatTtlMs: { env: 'STARLING_HEARTBEAT_TTL_MS', kind: 'int', default: 3000, help: 'a node whose last heartbeat is older than this is dead: dropped and purged' },
  sessionMoveGraceMs: { env: 'STARLING_SESSION_MOVE_GRACE_MS', kind: 'int', default: 5000, help: "a persistent session taken over by another node: how long the old node keeps its routes for the new node's to reach the store (at most), and then how long it still sends on to the new node what is published to the session there; the new node drops the second copy of a message that came both ways for three times as long" },
  metricsCacheMs: { env: 'STARLING_METRICS_CACHE_MS', kind: 'int', default: 1000, help: 'how long a gateway reuses the nodes\' answers for GET /metrics, and for API GETs sent with `Cache-Control: max-age` (the dashboard\'s polls), in ms: reads within it cost the cluster nothing (0: every read asks; concurrent ones still share one round)' },
  metricsTimeoutMs: { env: 'STARLING_METRICS_TIMEOUT_MS', kind: 'int', default: 2000, help: 'how long GET /metrics waits for each node\'s answer, in ms; a node that does not answer in time is reported down (starling_node_up 0)' },
  telemetryUrl: { env: 'STARLING_TELEMETRY_URL', kind: 'string', default: undefined, help: 'emqx_telemetry: the URL a gateway POSTs GET /api/v4/telemetry/data to while telemetry is enabled (unset: nothing is sent)' },
  telemetryIntervalS: { env: 'STARLING_TELEMETRY_INTERVAL_S', kind: 'int', default: 604800, help: 'emqx_telemetry: seconds between reports to STARLING_TELEMETRY_URL (EMQX: 7 days)' },
  metricsAuth: { env: 'STARLING_METRICS_AUTH', kind: 'bool', default: false, help: 'require Basic auth with an API app\'s AppID and AppSecret on GET /metrics (default: open, as a Prometheus target usually is)' },
  apiAuthMaxFailures: { env: 'STARLING_API_AUTH_MAX_FAILURES', kind: 'int', default: 10, help: 'management API: wrong credentials from one source address within STARLING_API_AUTH_WINDOW_MS after which that address is answered 429 (Retry-After) until the window ends, good credentials included; other addresses are unaffected (0: no limit)' },
  apiAuthWindowMs: { env: 'STARLING_API_AUTH_WINDOW_MS', kind: 'int', default: 60000, help: "management API: the window of STARLING_API_AUTH_MAX_FAILURES in ms, counted from an address's first failure" },
  apiAuthTrackedMax: { env: 'STARLING_API_AUTH_TRACKED_MAX', kind: 'int', default: 10000, help: 'management API: source addresses whose failed logins a gateway remembers; past it, expired windows and then the oldest are forgotten' },
  apiTrustProxy: { env: 'STARLING_API_TRUST_PROXY', kind: 'string', default: undefined, help: "management API: proxies whose X-Forwarded-For gives a request's source address (Express's trust proxy: addresses, subnets, `loopback`, comma-separated), e.g. HAProxy's; unset: the peer's address" },
  dashboardPort: { env: 'STARLING_DASHBOARD_PORT', kind: 'int', default: -1, help: 'a second port of the gateway for the web dashboard (also always at /dashboard/ on the API port; 0 picks a free port, -1 disables)' },
  apiMaxBody: { env: 'STARLING_API_MAX_BODY', kind: 'int', default: 1048576, help: 'largest management API request body in bytes; a larger one is answered 413 (code 108)' },
  apiMaxQuery: { env: 'STARLING_API_MAX_QUERY', kind: 'int', default: 8192, help: 'longest management API query string in bytes; a longer one is answered 414 (code 108); a request line or headers past 16 KB are answered 431 by the HTTP parser' },
  semiSpaceMb: { env: 'STARLING_SEMI_SPACE_MB', kind: 'int', default: 2, help: "V8 young-generation semi-space cap in MB (node only): small keeps idle connections' memory low" },
  logLevel: { env: 'STARLING_LOG_LEVEL', kind: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], help: 'log level' },

  maxConns: { env: 'STARLING_MAX_CONNS', kind: 'int', default: 1024000, help: 'maximum concurrent connections per listener; past it a new connection is closed before any MQTT (counted as max_conns in the listener\'s shutdown_count)' },
  maxConnRate: { env: 'STARLING_MAX_CONN_RATE', kind: 'int', default: 0, help: "new connections a second a listener accepts, a second's worth at once (EMQX's max_conn_rate); faster ones are closed at once, counted as conn_rate_limit in the listener's shutdown_count (0: no limit)" },
  maxConnRatePerIp: { env: 'STARLING_MAX_CONN_RATE_PER_IP', kind: 'int', default: 0, help: 'the same limit per source address on each listener (0: no limit)' },
  maxPacketSize: { env: 'STARLING_MAX_PACKET_SIZE', kind: 'int', default: 1048576, help: 'maximum MQTT packet size in bytes' },
  maxClientIdLen: { env: 'STARLING_MAX_CLIENTID_LEN', kind: 'int', default: 65535, help: 'maximum client identifier length' },
  maxTopicLevels: { env: 'STARLING_MAX_TOPIC_LEVELS', kind: 'int', default: 0, help: 'maximum topic levels (0: no limit)' },
  publishRateLimit: { env: 'STARLING_PUBLISH_RATE_LIMIT', kind: 'string', default: undefined, help: "messages a client may publish, as EMQX's rate_limit.conn_messages_in: `<count>,<seconds>s`, e.g. `100,10s` (100 at once, then 10 a second); past it the node stops reading that client until it may again (back-pressure, nothing lost). Unset: no limit" },
  bytesRateLimit: { env: 'STARLING_BYTES_RATE_LIMIT', kind: 'string', default: undefined, help: "bytes a client may send, as EMQX's rate_limit.conn_bytes_in: `<bytes>,<seconds>s` with KB or MB, e.g. `1MB,10s` (1 MB at once, then 100 KB a second); past it the node stops reading that client until it may again. Unset: no limit" },
  maxQosAllowed: { env: 'STARLING_MAX_QOS_ALLOWED', kind: 'int', default: 2, help: 'maximum QoS a client may publish or subscribe with' },
  maxTopicAlias: { env: 'STARLING_MAX_TOPIC_ALIAS', kind: 'int', default: 65535, help: 'topic alias maximum offered to MQTT 5 clients (0 disables)' },
  maxSubscriptions: { env: 'STARLING_MAX_SUBSCRIPTIONS', kind: 'int', default: 0, help: 'maximum subscriptions per client (0: no limit)' },
  retainAvailable: { env: 'STARLING_RETAIN_AVAILABLE', kind: 'bool', default: true, help: 'whether retained messages are supported' },
  wildcardSubscription: { env: 'STARLING_WILDCARD_SUBSCRIPTION', kind: 'bool', default: true, help: 'whether wildcard subscriptions are allowed' },
  sharedSubscription: { env: 'STARLING_SHARED_SUBSCRIPTION', kind: 'bool', default: true, help: 'whether shared subscriptions are allowed' },
  sharedDispatchStrategy: { env: 'STARLING_SHARED_DISPATCH_STRATEGY', kind: 'enum', default: 'random', values: ['random', 'round_robin'], help: 'how a shared subscription group picks its member' },
  idleTimeoutMs: { env: 'STARLING_IDLE_TIMEOUT_MS', kind: 'int', default: 15000, help: 'close a connection that sends no CONNECT within this time' },
  keepaliveBackoff: { env: 'STARLING_KEEPALIVE_BACKOFF', kind: 'float', default: 1.5, help: 'a client is dropped after keepalive × this without a packet' },
  serverKeepalive: { env: 'STARLING_SERVER_KEEPALIVE', kind: 'int', default: 0, help: 'cap on keepalive in seconds, sent as MQTT 5 Server Keep Alive (0: none)' },
  upgradeQos: { env: 'STARLING_UPGRADE_QOS', kind: 'bool', default: false, help: 'deliver with the subscription QoS even when the message QoS is lower' },
  maxInflight: { env: 'STARLING_MAX_INFLIGHT', kind: 'int', default: 32, help: 'QoS 1/2 messages in flight to a client' },
  retryIntervalMs: { env: 'STARLING_RETRY_INTERVAL_MS', kind: 'int', default: 30000, help: 'resend an unacknowledged QoS 1/2 message to an MQTT 3.x client after this (0: only on reconnect)' },
  maxAwaitingRel: { env: 'STARLING_MAX_AWAITING_REL', kind: 'int', default: 100, help: 'incoming QoS 2 messages awaiting PUBREL per client' },
  awaitRelTimeoutMs: { env: 'STARLING_AWAIT_REL_TIMEOUT_MS', kind: 'int', default: 300000, help: 'drop an incoming QoS 2 message whose PUBREL has not come after this' },
  maxMqueue: { env: 'STARLING_MAX_MQUEUE', kind: 'int', default: 1000, help: 'messages queued per session while offline or congested (0: no limit)' },
  mqueueStoreQos0: { env: 'STARLING_MQUEUE_STORE_QOS0', kind: 'bool', default: true, help: 'queue QoS 0 messages too' },
  sessionExpiryInterval: { env: 'STARLING_SESSION_EXPIRY_INTERVAL', kind: 'int', default: 7200, help: 'session expiry in seconds for MQTT 3.x persistent sessions' },
  durableSessions: { env: 'STARLING_DURABLE_SESSIONS', kind: 'enum', default: 'auto', values: ['auto', 'on', 'off'], help: 'keep persistent sessions (subscriptions, queued and unacknowledged QoS 1/2 messages, wills) in NATS JetStream, so that a client whose node died resumes on another node (see Durable sessions); auto: on in a cluster when the NATS server has JetStream (nats-server -js), off standalone; on: required (standalone: kept in memory)' },
  durableReplicas: { env: 'STARLING_DURABLE_REPLICAS', kind: 'int', default: 1, help: 'JetStream replicas of the durable session stream and bucket (3 with a NATS cluster of three)' },
  durableMaxBytes: { env: 'STARLING_DURABLE_MAX_BYTES', kind: 'int', default: 1073741824, help: 'bytes of messages owed to persistent sessions the stream holds overall; beyond, new copies are refused (counted as delivery.dropped.queue_full, alarm durable_session_store_full) (0: no limit)' },
  durableMaxMsgs: { env: 'STARLING_DURABLE_MAX_MSGS', kind: 'int', default: 10000000, help: 'messages owed to persistent sessions the stream holds overall, as STARLING_DURABLE_MAX_BYTES (0: no limit); per session it holds STARLING_MAX_MQUEUE plus STARLING_MAX_INFLIGHT' },
  durableSweepMs: { env: 'STARLING_DURABLE_SWEEP_MS', kind: 'int', default: 5000, help: 'how often a node looks for stored sessions whose node is gone, to expire them and publish their wills (0: never)' },
  outBufferLimit: { env: 'STARLING_OUT_BUFFER_LIMIT', kind: 'int', default: 4194304, help: 'bytes buffered to a socket before the client counts as congested: QoS 0 messages to it are then dropped (counted as delivery.dropped.qos0_msg), QoS 1/2 queued' },
  sendTimeoutMs: { env: 'STARLING_SEND_TIMEOUT_MS', kind: 'int', default: 15000, help: "a client that stays congested this long (it does not read what is sent to it) is disconnected, counted as send_timeout in the listener's shutdown_count (EMQX's send_timeout; 0: never)" },
  zone: { env: 'STARLING_ZONE', kind: 'string', default: 'external', help: 'zone name reported for clients' },

  allowAnonymous: { env: 'STARLING_ALLOW_ANONYMOUS', kind: 'bool', default: true, help: 'accept clients without a username' },
  usersFile: { env: 'STARLING_USERS_FILE', kind: 'string', default: undefined, help: 'JSON file of users: [{"username","password"}], password plain, "sha256:<hex>" or "sha256:<salt>:<hex>"' },
  aclFile: { env: 'STARLING_ACL_FILE', kind: 'string', default: 'etc/acl.conf', help: "ACL rules file in EMQX acl.conf syntax; the default is the package's own, EMQX's default rules; `none`: no file" },
  aclNoMatch: { env: 'STARLING_ACL_NOMATCH', kind: 'enum', default: 'allow', values: ['allow', 'deny'], help: 'result when no ACL rule matches' },
  aclCacheEnable: { env: 'STARLING_ACL_CACHE_ENABLE', kind: 'bool', default: true, help: 'cache ACL results per client' },
  aclCacheMaxSize: { env: 'STARLING_ACL_CACHE_MAX_SIZE', kind: 'int', default: 32, help: 'ACL cache entries per client' },
  aclCacheTtlMs: { env: 'STARLING_ACL_CACHE_TTL_MS', kind: 'int', default: 60000, help: 'ACL cache entry lifetime in ms' },
  bannedFile: { env: 'STARLING_BANNED_FILE', kind: 'string', default: undefined, help: 'JSON file of banned entries loaded at start: [{"as","who","reason","until"}]' },

  sysIntervalMs: { env: 'STARLING_SYS_INTERVAL_MS', kind: 'int', default: 60000, help: 'how often $SYS stats and metrics are published (0 disables)' },
  sysHeartbeatMs: { env: 'STARLING_SYS_HEARTBEAT_MS', kind: 'int', default: 30000, help: 'how often $SYS uptime and datetime are published (0 disables)' },
  presenceEvents: { env: 'STARLING_PRESENCE_EVENTS', kind: 'bool', default: true, help: 'publish $SYS client connected/disconnected events' },

  webHookUrl: { env: 'STARLING_WEB_HOOK_URL', kind: 'string', default: undefined, help: 'emqx_web_hook: the http(s) URL events are POSTed to (the plugin refuses to load without it)' },
  webHookHeaders: { env: 'STARLING_WEB_HOOK_HEADERS', kind: 'string', default: undefined, help: 'emqx_web_hook: extra request headers, a JSON object of strings (content-type is application/json)' },
  webHookEncoding: { env: 'STARLING_WEB_HOOK_ENCODING', kind: 'enum', default: 'plain', values: ['plain', 'base64'], help: 'emqx_web_hook: encoding of the payload field of message events' },
  webHookRules: { env: 'STARLING_WEB_HOOK_RULES', kind: 'string', default: undefined, help: 'emqx_web_hook: the events sent, a JSON array of {"event","action","topic"} (see Web hook); unset: every event' },
  webHookPoolSize: { env: 'STARLING_WEB_HOOK_POOL_SIZE', kind: 'int', default: 32, help: 'emqx_web_hook: HTTP connections kept open to the server (requests in flight at once)' },
  webHookTimeoutMs: { env: 'STARLING_WEB_HOOK_TIMEOUT_MS', kind: 'int', default: 5000, help: 'emqx_web_hook: timeout of one request in ms' },
  webHookMaxQueue: { env: 'STARLING_WEB_HOOK_MAX_QUEUE', kind: 'int', default: 10000, help: 'emqx_web_hook: events waiting for a connection; past it new events are dropped and counted' },
  rewriteRules: { env: 'STARLING_REWRITE_RULES', kind: 'string', default: undefined, help: 'emqx_mod_rewrite: topic rewrite rules, a JSON array of {"action","source_topic","re","dest_topic"} (see Topic rewrite); the module is loaded when set' },
  autoSubscribe: { env: 'STARLING_AUTO_SUBSCRIBE', kind: 'string', default: undefined, help: 'emqx_mod_subscription: topics every client is subscribed to on connect, a JSON array of {"topic","qos","nl","rap","rh"} with %c and %u; the module is loaded when set' },
  alarmCheckIntervalMs: { env: 'STARLING_ALARM_CHECK_INTERVAL_MS', kind: 'int', default: 60000, help: "how often memory, CPU and listener connections are checked against the alarm watermarks (EMQX's os_mon check interval)" },
  alarmSizeLimit: { env: 'STARLING_ALARM_SIZE_LIMIT', kind: 'int', default: 1000, help: "deactivated alarms kept per node, the oldest dropped first; 0: no limit (EMQX's alarm.size_limit)" },
  alarmSysmemHighWatermark: { env: 'STARLING_ALARM_SYSMEM_HIGH_WATERMARK', kind: 'int', default: 70, help: 'percent of system memory in use above which high_system_memory_usage is raised' },
  alarmProcmemHighWatermark: { env: 'STARLING_ALARM_PROCMEM_HIGH_WATERMARK', kind: 'int', default: 5, help: "percent of system memory the node process's resident set may use before high_process_memory_usage is raised" },
  alarmCpuHighWatermark: { env: 'STARLING_ALARM_CPU_HIGH_WATERMARK', kind: 'int', default: 80, help: 'percent of CPU busy over a check interval above which high_cpu_usage is raised' },
  alarmCpuLowWatermark: { env: 'STARLING_ALARM_CPU_LOW_WATERMARK', kind: 'int', default: 60, help: 'percent of CPU busy below which high_cpu_usage is cleared' },
  alarmConnsHighWatermark: { env: 'STARLING_ALARM_CONNS_HIGH_WATERMARK', kind: 'int', default: 90, help: "percent of a listener's max_conns in use above which too_many_connections/<listener> is raised" },
  alarmClusterGraceMs: { env: 'STARLING_ALARM_CLUSTER_GRACE_MS', kind: 'int', default: 5000, help: 'how long the cluster store (Redis) or transport (NATS) may be unreachable before cluster_store_unreachable or cluster_transport_unreachable is raised' },
} as const satisfies Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['kind'] extends 'int' | 'float'
  ? number
  : S['kind'] extends 'bool'
    ? boolean
    : S extends { values: readonly (infer V)[] }
      ? V
      : S['default'] extends undefined
        ? string | undefined
        : string;

export type Config = { -readonly [K in keyof typeof options]: ValueOf<(typeof options)[K]> };
export type ConfigKey = keyof Config;

export class ConfigError extends Error {}

function parseValue(key: string, spec: OptionSpec, raw: unknown): unknown {
  if (raw === undefined || raw === null || raw === '') return spec.default;
  const s = String(raw).trim();
  switch (spec.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(s)) throw new ConfigError(`${key} (${spec.env}) must be an integer, got "${s}"`);
      return Number(s);
    }
    case 'float': {
      const n = Number(s);
      if (!Number.isFinite(n)) throw new ConfigError(`${key} (${spec.env}) must be a number, got "${s}"`);
      return n;
    }
    case 'bool': {
      if (/^(true|1|yes|on)$/i.test(s)) return true;
      if (/^(false|0|no|off)$/i.test(s)) return false;
      throw new ConfigError(`${key} (${spec.env}) must be true or false, got "${s}"`);
    }
    case 'enum': {
      if (!spec.values!.includes(s)) throw new ConfigError(`${key} (${spec.env}) must be one of ${spec.values!.join(', ')}, got "${s}"`);
      return s;
    }
    default:
      // a config file may give a JSON value (rules, topic lists) as JSON rather than as a string
      return typeof raw === 'object' ? JSON.stringify(raw) : s;
  }
}

/** Every option's declaration, in table order (the v3 configs API lists them). */
export function optionSpecs(): [ConfigKey, OptionSpec][] {
  return Object.entries(options) as [ConfigKey, OptionSpec][];
}

/** One option's value parsed from `raw` as the config file and environment are (ConfigError when it is not one). */
export function parseOption(key: ConfigKey, raw: unknown): unknown {
  return parseValue(key, options[key], raw);
}

/** Reads the optional JSON config file (STARLING_CONFIG or --config FILE), then the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: string[] = process.argv.slice(2), overrides: Partial<Config> = {}): Config {
  const fileArg = argv.indexOf('--config');
  const file = fileArg >= 0 ? argv[fileArg + 1] : env.STARLING_CONFIG;
  let fromFile: Record<string, unknown> = {};
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    for (const k of Object.keys(fromFile)) {
      if (!(k in options)) throw new ConfigError(`unknown key "${k}" in config file ${file}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(options) as [string, OptionSpec][]) {
    const raw = env[spec.env] !== undefined && env[spec.env] !== '' ? env[spec.env] : fromFile[key];
    out[key] = key in overrides ? (overrides as Record<string, unknown>)[key] : parseValue(key, spec, raw);
  }
  return out as Config;
}

/** The configuration reference as a Markdown table (the README carries it; a test keeps them equal). */
export function markdownTable(): string {
  const rows = (Object.entries(options) as [string, OptionSpec][]).map(([key, spec]) => {
    const def = spec.default === undefined ? '' : `\`${String(spec.default)}\``;
    const values = spec.values ? ` (${spec.values.map((v) => `\`${v}\``).join(', ')})` : '';
    return `| \`${spec.env}\` | \`${key}\` | ${def} | ${spec.help}${values} |`;
  });
  return ['| environment | config file key | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The `--help` text of an entry point: usage, then every setting with its default. */
export function helpText(usage: string): string {
  const rows = (Object.entries(options) as [string, OptionSpec][]).map(([key, spec]) => {
    const def = spec.default === undefined ? '(unset)' : String(spec.default);
    const values = spec.values ? ` [${spec.values.join('|')}]` : '';
    return `  ${spec.env.padEnd(36)} ${spec.help}${values}\n  ${''.padEnd(36)} config key: ${key}, default: ${def}`;
  });
  return `${usage}\n\nSettings come from an optional JSON config file (--config FILE or STARLING_CONFIG),\nwhose keys are the config keys below; the environment wins over the file.\n\n${rows.join('\n')}\n`;
}
