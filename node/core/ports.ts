/**
 * What each part of a node needs of the others, as narrow interfaces. Broker (and the
 * objects it is composed of) implement them; connections, packet handlers, sessions,
 * listeners, $SYS and presence take them instead of the whole Broker, so none of those
 * imports broker.ts and the node has no import cycle across folders. A leaf: types only,
 * from shared/ and other leaves.
 */
import type { Duplex } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import type { Config } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { Message } from '../../shared/message.js';
import type { SessionTransfer } from '../../shared/api/session.js';
import type { AccessControl, AclCache, AclSubject, Authenticator, BannedList } from '../access/index.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Stats } from '../metrics/stats.js';
import type { ProtocolVersion, PublishEncoder } from '../protocol/codec.js';
import type { ShutdownReason } from '../protocol/reason-codes.js';
import type { RetainedStore } from '../router/retained.js';
import type { RouterEvents, SubOptions } from '../router/router.js';
import type { Hooks } from './hooks.js';

export const enum ConnState {
  New = 0,
  Connected = 1,
  Closed = 2,
}

/** The information a CONNECT leaves on its connection (EMQX's clientinfo and conninfo). */
export interface ConnectInfo {
  clientId: string;
  username: string | undefined;
  protoName: string;
  keepalive: number;
  cleanStart: boolean;
  isBridge: boolean;
  connectedAt: number;
  will: Message | undefined;
  /** seconds (MQTT 5 Will Delay Interval) */
  willDelay: number;
  /** seconds (the will's MQTT 5 Message Expiry Interval), counted from when it is published */
  willExpiry: number | undefined;
}

/** The outcome of one subscription request: a reason code (MQTT 5 numbering) and what was stored. */
export interface SubscribeResult {
  code: number;
  isNew: boolean;
  filter: string;
  opts: SubOptions;
}

/**
 * What publish() tells its caller. The broker returns one reused object (no allocation per
 * message): read it before the next publish.
 */
export interface PublishResult {
  /** local deliveries plus forwards to other nodes */
  readonly delivered: number;
  /** it went to another node at QoS 1/2: its acknowledgement waits for `flushed` */
  readonly forwarded: boolean;
  /** it went to another node while the cluster transport is backlogged: throttle the publisher */
  readonly backlogged: boolean;
  /** resolves once the nodes it went to have it (QoS 1/2 only), else undefined */
  readonly flushed: Promise<void> | undefined;
}

/** What the forwarding layer fills in of a PublishResult (Broker resets it before). */
export interface ForwardOutcome {
  forwarded: boolean;
  backlogged: boolean;
  /** the nodes a QoS 1/2 message went to (refilled per message): what its acknowledgement waits for */
  readonly to: string[];
}

/**
 * What the broker asks of the cluster layer (node/cluster/cluster.ts). Standalone, the
 * same layer runs over the in-process transport and the in-memory store.
 */
export interface ClusterHooks extends RouterEvents {
  /** whether any other node has a route: while none does, publishing stays local */
  readonly hasRemoteRoutes: boolean;
  /**
   * Forwards a message to the other nodes with matching routes and makes the cluster-wide
   * choice for shared groups (possibly delivering to a local member); returns deliveries
   * and says in `out` whether it went to another node reliably and whether the transport
   * is backlogged.
   */
  forward(msg: Message, enc: PublishEncoder, out: ForwardOutcome): number;
  /** whether another node has a route (or a shared group) matching a topic name */
  hasRoute(topic: string): boolean;
  /**
   * Resolves once the nodes `to` have what this I/O turn forwarded to them (the transport's
   * flush, one per node and turn). A QoS 1/2 PUBLISH that was forwarded is acknowledged only
   * then: it waits for the nodes it went to, not for others (a dead node's held forwards).
   */
  forwardFlushed(to: readonly string[]): Promise<void>;
  onForwardsDrained(cb: () => void): void;
  /**
   * A client connects: registers it here and, when another node has its session, takes it
   * over. With `holder` (the node the durable store names, when the registry gave no
   * takeover: away, or restarted empty), that node is asked, without the registry.
   */
  claimSession(clientid: string, transfer: boolean, holder?: string): Promise<SessionTransfer | null>;
  /** A session ended here. */
  sessionEnded(clientid: string): void;
  /**
   * Whether the store and the transport are both reachable: when not, a CONNECT cannot take
   * a session another node holds over, and the clientid may be live on two nodes until they
   * return (node/cluster/conflicts.ts).
   */
  readonly reachable: boolean;
  /**
   * Registers a session this node takes on after its node died: false (and the registry as it
   * was) when a live node registered the clientid meanwhile (its client came back there).
   */
  adoptRegistration(clientid: string, deadNode: string): Promise<boolean>;
  /** A retained message was set (or deleted, msg undefined) by a publish on this node. */
  retainedChanged(topic: string, msg: Message | undefined): void;
}

/** What a connection and its packet handlers need of the client's session (node/session/session.ts). */
export interface ClientSession {
  readonly clientId: string;
  /** seconds; DISCONNECT may change it */
  expiryInterval: number;
  /** QoS 1/2 messages in flight to the client, by packet identifier */
  readonly inflight: { readonly size: number };
  /** a message in flight that could not be sent after all */
  dropInflight(id: number): void;
  /** incoming QoS 2 packet identifiers → time of PUBLISH, until PUBREL */
  readonly awaitingRel: Map<number, number>;
  /** resolves once a durable session stored it (undefined otherwise) */
  addAwaitingRel(id: number, at: number): Promise<void> | undefined;
  /** a durable session: resolves once its record (its subscriptions) is stored, or at once while the store is away; undefined otherwise */
  recordStored(): Promise<void> | undefined;
  /** PUBREL came or the wait timed out; false when the id was not awaited */
  deleteAwaitingRel(id: number): boolean;
  puback(id: number): void;
  pubrec(id: number, reasonCode: number): void;
  pubcomp(id: number): void;
  deliverRetained(msg: Message, opts: SubOptions): void;
  /** after a resumed session's CONNACK */
  resume(): void;
  /** the socket drained: send what waits */
  drain(): void;
  /** MQTT 3.x resends */
  retry(now: number, intervalMs: number): void;
}

/** What a listener keeps of the connections it accepted. */
export interface ListenedConnection {
  readonly openedAt: number;
  close(reason: ShutdownReason): void;
}

/** The listener a connection came in on, as the connection sees it. */
export interface ConnListener {
  readonly port: number;
  /** CONNECT accepted: no longer subject to the idle timeout */
  connected(conn: ListenedConnection): void;
  /** called once per connection when it ends */
  closed(conn: ListenedConnection, reason: ShutdownReason): void;
}

/** How a listener hands over a new transport stream (wired in node/core/compose.ts). */
/** `certUsername`: the username a verified client certificate gives (STARLING_TLS_PEER_CERT_AS_USERNAME) */
export type Accept = (socket: Duplex, listener: ConnListener, peerHost: string, peerPort: number, certUsername?: string) => ListenedConnection;

/** What a connection needs of its node. */
export interface ConnectionHost {
  readonly cfg: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly hooks: Hooks;
  /** calls back once the cluster transport has worked off its backlog (see Connection.throttle) */
  onForwardsDrained(cb: () => void): void;
  /** every connection ends here, once, whatever closed it */
  connectionClosed(conn: ClientConnection, reason: ShutdownReason, wasConnected: boolean): void;
}

/**
 * Topic rewriting (emqx_mod_rewrite, node/features/rewrite.ts): set on the node only while
 * the module is loaded with rules, so the PUBLISH and SUBSCRIBE paths test one field.
 */
export interface TopicRewrite {
  /** rewrites a message's topic in place, before anything else sees it */
  publish(msg: Message): void;
  /** a SUBSCRIBE or UNSUBSCRIBE filter (a `$share/<group>/` or `$queue/` prefix is kept) */
  filter(topic: string, clientid: string, username: string | undefined): string;
}

/** What the packet handlers need of the node, through their connection. */
export interface PacketHost extends ConnectionHost {
  readonly banned: BannedList;
  readonly auth: Authenticator;
  readonly access: AccessControl;
  readonly retained: RetainedStore;
  publish(msg: Message): PublishResult;
  readonly rewrite: TopicRewrite | undefined;
  /** `conn` is given for a client's own SUBSCRIBE (ACL is checked for it, on `asSent` when a rewrite changed the filter) */
  subscribe(session: ClientSession, topic: string, opts: SubOptions, conn?: ClientConnection, asSent?: string): SubscribeResult;
  unsubscribe(session: ClientSession, topic: string): number;
  /** claims the clientid cluster-wide, then opens (or takes over) its session */
  openClusterSession(conn: ClientConnection, clientId: string, cleanStart: boolean, expiryInterval: number): Promise<{ session: ClientSession; present: boolean }>;
  /** a CONNECT was accepted */
  clientConnected(conn: ClientConnection): void;
}

/** What the packet handlers need of a connection (node/protocol/connection.ts). */
export interface ClientConnection extends AclSubject, ListenedConnection {
  readonly broker: PacketHost;
  readonly state: ConnState;
  version: ProtocolVersion;
  readonly info: ConnectInfo | undefined;
  readonly session: ClientSession | undefined;
  aclCache: AclCache | undefined;
  /** ms timestamp of the last packet received */
  readonly lastRecv: number;
  readonly peerHost: string;
  readonly peerPort: number;
  /** the username its TLS client certificate gives (peer_cert_as_username): it replaces CONNECT's */
  readonly certUsername: string | undefined;
  readonly listener: ConnListener;
  clientReceiveMax: number;
  clientMaxPacketSize: number;
  clientTopicAliasMax: number;
  problemInformation: boolean;
  inAliases: Map<number, string> | undefined;
  recvMsg: number;
  closeReason: ShutdownReason | undefined;
  protocolError(reasonCode: number, reason: ShutdownReason): void;
  sendPacket(packet: Packet): void;
  sendAck(cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', messageId: number, reasonCode: number): void;
  sendDisconnect(reasonCode: number): void;
  ackPublish(cmd: 'puback' | 'pubrec', messageId: number, reasonCode: number, after: Promise<void> | undefined): void;
  throttle(): void;
  hold(): void;
  release(): void;
  accept(info: ConnectInfo): void;
}

/** What a session needs of its node. */
export interface SessionHost {
  readonly cfg: Config;
  readonly metrics: Metrics;
  readonly hooks: Hooks;
}

/** What $SYS topics and presence need of their node. */
export interface SysHost {
  readonly nodeName: string;
  readonly cfg: Config;
  readonly startedAt: number;
  readonly stats: Stats;
  readonly metrics: Metrics;
  /** sends a broker-originated message */
  publishSys(topic: string, payload: string, retain?: boolean): void;
}
