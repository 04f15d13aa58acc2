import { randomBytes } from 'node:crypto';
import type { Message } from '../../shared/message.js';
import type { ClientInfo, HookEvents, HookName } from '../core/hooks.js';
import type { Source } from './sql/compile.js';
import { decodeJson, type Value } from './sql/values.js';

/**
 * What a rule sees of each event (EMQX 4.x's emqx_rule_events): a message published on a
 * topic the FROM names, or one of the `$events/...` topics, each with EMQX's columns.
 * A column is computed when a rule reads it; the payload is decoded as JSON at most once.
 */

/** Who a client is, for columns its event does not carry (its session's connection, while there is one). */
export type ClientLookup = (clientid: string) => { username: string | undefined; peerhost: string | undefined } | undefined;

/**
 * EMQX's message id: 32 hex digits, unique per node (time, a per-process random part and a
 * sequence, as EMQX's GUIDs are built), made when a rule first reads it: cheap enough for
 * every message a rule passes.
 */
const ID_NODE = `${Date.now().toString(16)}${randomBytes(8).toString('hex')}`.slice(0, 18).toUpperCase().padStart(18, '0');
let idSeq = 0;
const newId = (): string => ID_NODE + (++idSeq).toString(16).toUpperCase().padStart(14, '0');

const peername = (c: ClientInfo): string => `${c.peerhost}:${c.peerport}`;

/** A record class of one column list: its instances read each column from their source when asked (getters on the prototype). */
type LazyRecord = new (src: Source) => Record<string, Value>;

/**
 * A class of records of an event's columns that computes none of them until read: what
 * actions get as their envs (most read one or two, or none). JSON.stringify (toJSON) and
 * `for...in` see every column. One class per column list, made once.
 */
function lazyRecord(names: readonly string[]): LazyRecord {
  // the source under a symbol, not a #field: no key or JSON sees it, and it is cheaper to set
  class Lazy {
    declare readonly [SRC]: Source;
    constructor(src: Source) {
      this[SRC] = src;
    }
    toJSON(): Record<string, Value> {
      return this[SRC].all();
    }
  }
  for (const n of names) Object.defineProperty(Lazy.prototype, n, { get(this: Lazy) { return this[SRC].col(n); }, enumerable: true });
  return Lazy as unknown as LazyRecord;
}

const SRC = Symbol('source');

/** The columns an event has, and the lazy record class of them. */
interface Columns {
  names: readonly string[];
  /** (RecordSource computes its columns at once and needs none) */
  lazy: LazyRecord;
}

/** The columns of an event, by name; `all` lists them for `SELECT *`. */
abstract class EventSource implements Source {
  // A source is made per message: its fields are assigned in the constructors, none is a
  // class field (with an initializer, or a parameter property), which V8 (Node 20) defines
  // several times more slowly than it assigns properties.
  declare readonly event: string;
  declare readonly node: string;
  declare protected readonly names: readonly string[];
  declare private readonly lazy: LazyRecord;
  declare private json: Value;
  declare private decoded: boolean;
  declare private msgId: string | undefined;
  declare private envsMade: Record<string, Value> | undefined;
  constructor(event: string, node: string, columns: Columns) {
    this.event = event;
    this.node = node;
    this.names = columns.names;
    this.lazy = columns.lazy;
    this.json = undefined;
    this.decoded = false;
    this.msgId = undefined;
    this.envsMade = undefined;
  }

  protected abstract column(name: string): Value;
  protected payload(): Buffer | undefined {
    return undefined;
  }

  id(): string {
    return (this.msgId ??= newId());
  }

  col(name: string): Value {
    if (name === 'node') return this.node;
    if (name === 'event') return this.event;
    return this.column(name);
  }

  payloadJson(): Value {
    if (!this.decoded) {
      this.decoded = true;
      const p = this.payload();
      this.json = p === undefined ? undefined : decodeJson(p);
    }
    return this.json;
  }

  /** the columns as a lazy record: a column is computed when an action reads it */
  envs(): Record<string, Value> {
    return (this.envsMade ??= new this.lazy(this));
  }

  all(): Record<string, Value> {
    const out: Record<string, Value> = {};
    for (const n of this.names) out[n] = this.col(n);
    return out;
  }
}

const NO_LAZY: LazyRecord = lazyRecord([]);

const columns = (names: readonly string[]): Columns => ({ names, lazy: lazyRecord(names) });
const MESSAGE = columns(['id', 'clientid', 'username', 'payload', 'peerhost', 'topic', 'qos', 'flags', 'headers', 'pub_props', 'timestamp', 'publish_received_at', 'node']);
const DELIVERY = columns(['id', 'from_clientid', 'from_username', 'clientid', 'username', 'payload', 'peerhost', 'topic', 'qos', 'flags', 'pub_props', 'timestamp', 'publish_received_at', 'node']);
const DROPPED = columns(['id', 'reason', 'clientid', 'username', 'payload', 'peerhost', 'topic', 'qos', 'flags', 'pub_props', 'timestamp', 'publish_received_at', 'node']);

/** A message's own columns, shared by the publish, delivered, acked and dropped events. */
function messageColumn(s: MessageSource, name: string): Value {
  const m = s.msg;
  switch (name) {
    case 'id':
      return s.id();
    case 'payload':
      return s.payloadText();
    case 'topic':
      return m.topic;
    case 'qos':
      return m.qos;
    case 'flags':
      return { retain: m.retain, sys: m.sys };
    case 'headers':
      return { username: m.fromUsername, peerhost: s.who(m.from)?.peerhost };
    case 'pub_props':
      return m.properties?.userProperties === undefined ? {} : { 'User-Property': m.properties.userProperties };
    case 'timestamp':
    case 'publish_received_at':
      return m.timestamp;
    case 'peerhost':
      return s.who(m.from)?.peerhost;
  }
  return undefined;
}

/** A message published (a FROM topic filter), EMQX's message.publish columns. */
export class MessageSource extends EventSource {
  declare readonly msg: Message;
  declare readonly lookup: ClientLookup;
  declare private text: string | undefined;
  declare private whoId: string | undefined;
  declare private whoIs: ReturnType<ClientLookup>;
  constructor(msg: Message, node: string, lookup: ClientLookup, event = 'message.publish', cols: Columns = MESSAGE) {
    super(event, node, cols);
    this.msg = msg;
    this.lookup = lookup;
    this.text = undefined;
    this.whoId = undefined;
    this.whoIs = undefined;
  }
  protected override payload(): Buffer {
    return this.msg.payload;
  }
  /** the payload as text, decoded once */
  payloadText(): string {
    return (this.text ??= this.msg.payload.toString('utf8'));
  }
  /** a client's username and address, looked up once per event and client */
  who(clientid: string): ReturnType<ClientLookup> {
    if (this.whoId !== clientid) {
      this.whoId = clientid;
      this.whoIs = this.lookup(clientid);
    }
    return this.whoIs;
  }
  protected column(name: string): Value {
    if (name === 'clientid') return this.msg.from;
    if (name === 'username') return this.msg.fromUsername;
    return messageColumn(this, name);
  }
}

/** message.delivered / message.acked: the message and whom it went to (`from_*` the publisher). */
class DeliverySource extends MessageSource {
  declare readonly clientid: string;
  constructor(msg: Message, clientid: string, node: string, lookup: ClientLookup, event: string) {
    super(msg, node, lookup, event, DELIVERY);
    this.clientid = clientid;
  }
  protected override column(name: string): Value {
    switch (name) {
      case 'from_clientid':
        return this.msg.from;
      case 'from_username':
        return this.msg.fromUsername;
      case 'clientid':
        return this.clientid;
      case 'username':
        return this.who(this.clientid)?.username;
      case 'peerhost':
        return this.who(this.clientid)?.peerhost;
      case 'timestamp':
        return Date.now();
    }
    return messageColumn(this, name);
  }
}

class DroppedSource extends MessageSource {
  declare readonly reason: string;
  constructor(msg: Message, reason: string, node: string, lookup: ClientLookup) {
    super(msg, node, lookup, 'message.dropped', DROPPED);
    this.reason = reason;
  }
  protected override column(name: string): Value {
    if (name === 'reason') return this.reason;
    if (name === 'timestamp') return Date.now();
    return super.column(name);
  }
}

/** A plain record of columns (client and session events): everything is known when the event fires. */
class RecordSource extends EventSource {
  declare private readonly cols: Record<string, Value>;
  constructor(event: string, node: string, cols: Record<string, Value>) {
    super(event, node, { names: [...Object.keys(cols), 'node'], lazy: NO_LAZY });
    this.cols = cols;
  }
  protected column(name: string): Value {
    return this.cols[name];
  }
  // its columns are all computed already
  override envs(): Record<string, Value> {
    return this.all();
  }
}

/** One `$events/...` topic: the hook it comes from and its columns. */
export interface EventTopic<E extends HookName = HookName> {
  hook: E;
  source(e: HookEvents[E], node: string, lookup: ClientLookup): Source;
}

const ev = <E extends HookName>(hook: E, source: EventTopic<E>['source']): EventTopic<E> => ({ hook, source });

/** The event topics a FROM may name, EMQX's. */
export const EVENT_TOPICS: Record<string, EventTopic> = {
  '$events/client_connected': ev('client.connected', ({ client: c }, node) =>
    new RecordSource('client.connected', node, {
      clientid: c.clientid,
      username: c.username,
      mountpoint: undefined,
      peername: peername(c),
      sockname: `0.0.0.0:${c.sockport}`,
      proto_name: c.protoName,
      proto_ver: c.protoVer,
      keepalive: c.keepalive,
      clean_start: c.cleanStart,
      expiry_interval: c.expiryInterval,
      is_bridge: c.isBridge,
      connected_at: c.connectedAt,
      timestamp: Date.now(),
    }),
  ),
  '$events/client_disconnected': ev('client.disconnected', ({ client: c, reason, disconnectedAt }, node) =>
    new RecordSource('client.disconnected', node, {
      clientid: c.clientid,
      username: c.username,
      reason,
      peername: peername(c),
      sockname: `0.0.0.0:${c.sockport}`,
      proto_name: c.protoName,
      proto_ver: c.protoVer,
      disconnected_at: disconnectedAt,
      timestamp: Date.now(),
    }),
  ),
  '$events/session_subscribed': ev('session.subscribed', (e, node, lookup) => {
    const who = lookup(e.clientid);
    return new RecordSource('session.subscribed', node, { clientid: e.clientid, username: who?.username, peerhost: who?.peerhost, topic: e.topic, qos: e.opts.qos, timestamp: Date.now() });
  }),
  '$events/session_unsubscribed': ev('session.unsubscribed', (e, node, lookup) => {
    const who = lookup(e.clientid);
    return new RecordSource('session.unsubscribed', node, { clientid: e.clientid, username: who?.username, peerhost: who?.peerhost, topic: e.topic, qos: 0, timestamp: Date.now() });
  }),
  '$events/message_delivered': ev('message.delivered', (e, node, lookup) => new DeliverySource(e.message, e.clientid, node, lookup, 'message.delivered')),
  '$events/message_acked': ev('message.acked', (e, node, lookup) => new DeliverySource(e.message, e.clientid, node, lookup, 'message.acked')),
  '$events/message_dropped': ev('message.dropped', (e, node, lookup) => new DroppedSource(e.message, e.reason, node, lookup)),
};

export const isEventTopic = (topic: string): boolean => Object.hasOwn(EVENT_TOPICS, topic);
