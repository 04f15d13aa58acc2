import type { Logger } from '../../shared/logger.js';
import type { Message, QoS } from '../../shared/message.js';
import type { AlarmRow } from '../../shared/api/alarms.js';
import type { ShutdownReason } from '../protocol/reason-codes.js';
import type { SubOptions } from '../router/router.js';

/**
 * The broker's observable events (EMQX's hookpoints, observe-only): presence, topic
 * metrics, web hooks, rules and alarms attach here as subscribers instead of editing the
 * core. A leaf module: the emitting sites import it, it imports nothing of theirs.
 */

/** Who a client is, as EMQX's clientinfo/conninfo show it; built only when someone listens. */
export interface ClientInfo {
  clientid: string;
  username: string | undefined;
  peerhost: string;
  peerport: number;
  /** the port of the listener the client connected to */
  sockport: number;
  protoName: string;
  protoVer: number;
  keepalive: number;
  cleanStart: boolean;
  /** seconds */
  expiryInterval: number;
  /** epoch ms */
  connectedAt: number;
  isBridge: boolean;
}

/** A CONNECT as received, before any check (EMQX's conninfo at client.connect): clientid as sent. */
export interface ClientConnectEvent {
  clientid: string;
  username: string | undefined;
  peerhost: string;
  keepalive: number;
  protoVer: number;
}

/** The CONNACK answering it. */
export interface ClientConnackEvent extends ClientConnectEvent {
  /** MQTT 5 numbering, whatever the client's version */
  reasonCode: number;
  /** epoch ms; undefined for a refusal */
  connectedAt: number | undefined;
}

/** One filter of a client's SUBSCRIBE that ACL allowed (after any topic rewrite, `$share/<group>/` included). */
export interface ClientSubscribeEvent {
  clientid: string;
  username: string | undefined;
  topic: string;
  /** as requested */
  opts: SubOptions;
}

/** One filter of a client's UNSUBSCRIBE (after any topic rewrite). */
export interface ClientUnsubscribeEvent {
  clientid: string;
  username: string | undefined;
  topic: string;
}

export interface ClientConnectedEvent {
  client: ClientInfo;
}

export interface ClientDisconnectedEvent {
  client: ClientInfo;
  reason: ShutdownReason;
  /** epoch ms */
  disconnectedAt: number;
}

export interface SessionSubscribedEvent {
  clientid: string;
  /** as subscribed, with any `$share/<group>/` prefix */
  topic: string;
  /** the granted options (QoS capped, share group set) */
  opts: SubOptions;
  /** whether the subscription did not exist before */
  isNew: boolean;
}

export interface SessionUnsubscribedEvent {
  clientid: string;
  topic: string;
}

export interface SessionTerminatedEvent {
  clientid: string;
  username: string | undefined;
  /** why it ended: its connection's shutdown reason, or `expired`, `discarded`, `takeovered`, `kicked` */
  reason: string;
}

export interface MessagePublishEvent {
  message: Message;
}

export interface MessageDeliveredEvent {
  clientid: string;
  message: Message;
  /** the QoS it is delivered with */
  qos: QoS;
}

export interface MessageAckedEvent {
  clientid: string;
  message: Message;
}

/** Why a message (or one delivery of it) went nowhere; the names of EMQX's dropped metrics. */
export type DropReason = 'no_subscribers' | 'no_local' | 'expired' | 'queue_full' | 'qos0_msg' | 'too_large' | 'invalid_delayed';

export interface MessageDroppedEvent {
  message: Message;
  reason: DropReason;
  /** the subscriber a delivery was dropped for; undefined when the whole message was */
  clientid: string | undefined;
}

/** An alarm raised or cleared on this node (node/alarms/alarms.ts); a copy, as the API shows it. */
export interface AlarmEvent {
  alarm: AlarmRow;
}

export interface HookEvents {
  'client.connect': ClientConnectEvent;
  'client.connack': ClientConnackEvent;
  'client.subscribe': ClientSubscribeEvent;
  'client.unsubscribe': ClientUnsubscribeEvent;
  'session.terminated': SessionTerminatedEvent;
  'client.connected': ClientConnectedEvent;
  'client.disconnected': ClientDisconnectedEvent;
  'session.subscribed': SessionSubscribedEvent;
  'session.unsubscribed': SessionUnsubscribedEvent;
  'message.publish': MessagePublishEvent;
  'message.delivered': MessageDeliveredEvent;
  'message.acked': MessageAckedEvent;
  'message.dropped': MessageDroppedEvent;
  'alarm.activated': AlarmEvent;
  'alarm.deactivated': AlarmEvent;
}

export type HookName = keyof HookEvents;
export type HookListener<E extends HookName> = (event: HookEvents[E]) => void;

/** Detaches the listener it was returned for (idempotent). */
export type Detach = () => void;

/**
 * One hookpoint. `active` is a plain field the emitting site tests before it builds a
 * payload, so a hook nobody listens to costs one load and one branch: no object, no
 * closure, no call (test/bench/tools/hooks-cost.ts measures it).
 */
/**
 * Bumped whenever a listener attaches to or detaches from any hook: an answer derived from
 * who listens (Broker.dropIfUnrouted's memo) stays true while it has not moved.
 */
let watchers = 0;
export const hookGeneration = (): number => watchers;

export class Hook<P> {
  active = false;
  private fns: ((event: P) => void)[] = [];

  constructor(
    readonly name: HookName,
    private readonly log: Logger,
  ) {}

  on(fn: (event: P) => void): Detach {
    // copy on write: a listener that detaches (or attaches) during emit does not disturb it
    this.fns = [...this.fns, fn];
    this.active = true;
    watchers++;
    return () => this.off(fn);
  }

  off(fn: (event: P) => void): void {
    const i = this.fns.indexOf(fn);
    if (i < 0) return;
    this.fns = this.fns.filter((_, k) => k !== i);
    this.active = this.fns.length > 0;
    watchers++;
  }

  get listenerCount(): number {
    return this.fns.length;
  }

  /** Calls every listener in attach order; one that throws is logged and the rest still run. */
  emit(event: P): void {
    const fns = this.fns;
    for (let i = 0; i < fns.length; i++) {
      try {
        fns[i]!(event);
      } catch (err) {
        this.log.error({ err, hook: this.name }, 'hook listener failed');
      }
    }
  }
}

/** The node's hookpoints, one field each (the emitting sites read the field, not a name). */
export class Hooks {
  readonly clientConnect: Hook<ClientConnectEvent>;
  readonly clientConnack: Hook<ClientConnackEvent>;
  readonly clientSubscribe: Hook<ClientSubscribeEvent>;
  readonly clientUnsubscribe: Hook<ClientUnsubscribeEvent>;
  readonly sessionTerminated: Hook<SessionTerminatedEvent>;
  readonly clientConnected: Hook<ClientConnectedEvent>;
  readonly clientDisconnected: Hook<ClientDisconnectedEvent>;
  readonly sessionSubscribed: Hook<SessionSubscribedEvent>;
  readonly sessionUnsubscribed: Hook<SessionUnsubscribedEvent>;
  readonly messagePublish: Hook<MessagePublishEvent>;
  readonly messageDelivered: Hook<MessageDeliveredEvent>;
  readonly messageAcked: Hook<MessageAckedEvent>;
  readonly messageDropped: Hook<MessageDroppedEvent>;
  readonly alarmActivated: Hook<AlarmEvent>;
  readonly alarmDeactivated: Hook<AlarmEvent>;
  private readonly byName: { [E in HookName]: Hook<HookEvents[E]> };

  constructor(log: Logger) {
    this.byName = {
      'client.connect': (this.clientConnect = new Hook('client.connect', log)),
      'client.connack': (this.clientConnack = new Hook('client.connack', log)),
      'client.subscribe': (this.clientSubscribe = new Hook('client.subscribe', log)),
      'client.unsubscribe': (this.clientUnsubscribe = new Hook('client.unsubscribe', log)),
      'session.terminated': (this.sessionTerminated = new Hook('session.terminated', log)),
      'client.connected': (this.clientConnected = new Hook('client.connected', log)),
      'client.disconnected': (this.clientDisconnected = new Hook('client.disconnected', log)),
      'session.subscribed': (this.sessionSubscribed = new Hook('session.subscribed', log)),
      'session.unsubscribed': (this.sessionUnsubscribed = new Hook('session.unsubscribed', log)),
      'message.publish': (this.messagePublish = new Hook('message.publish', log)),
      'message.delivered': (this.messageDelivered = new Hook('message.delivered', log)),
      'message.acked': (this.messageAcked = new Hook('message.acked', log)),
      'message.dropped': (this.messageDropped = new Hook('message.dropped', log)),
      'alarm.activated': (this.alarmActivated = new Hook('alarm.activated', log)),
      'alarm.deactivated': (this.alarmDeactivated = new Hook('alarm.deactivated', log)),
    };
  }

  /** Attaches a listener by the event's name; returns its detach handle. */
  on<E extends HookName>(name: E, fn: HookListener<E>): Detach {
    return (this.byName[name] as Hook<HookEvents[E]>).on(fn);
  }

  off<E extends HookName>(name: E, fn: HookListener<E>): void {
    (this.byName[name] as Hook<HookEvents[E]>).off(fn);
  }
}
