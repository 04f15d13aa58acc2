import type { Message, QoS } from '../../shared/message.js';
import type { FilterEntry, SubOptions, Subscriber, Subscription } from './router.js';

/**
 * Overlapping subscriptions of one client: a message matching several of its filters. An
 * MQTT 5 client gets one copy at the highest QoS of them, carrying every Subscription
 * Identifier they have [MQTT-3.3.4-2, MQTT-3.3.4-4]; MQTT 3.x clients keep a copy per
 * subscription, as EMQX 4 sends them.
 */

let epoch = 0;

/**
 * The one-copy subscribers with more than one subscription among `entries` (a topic matched
 * by several filters), each with its merged options; undefined when there are none, the
 * usual case, found with one mark per subscription and no allocation.
 */
export function overlapping(entries: readonly FilterEntry[], msg: Message): Map<Subscriber, SubOptions | undefined> | undefined {
  const mark = ++epoch;
  let twice: Set<Subscriber> | undefined;
  for (let e = 0; e < entries.length; e++) {
    const list = (entries[e]!.list ??= [...entries[e]!.subs.values()]);
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!.subscriber;
      if (s.oneCopy !== true) continue;
      if (s.dispatchMark === mark) (twice ??= new Set()).add(s);
      else s.dispatchMark = mark;
    }
  }
  if (twice === undefined) return undefined;
  const subs = new Map<Subscriber, Subscription[]>();
  for (const entry of entries) {
    for (const sub of entry.list!) {
      if (!twice.has(sub.subscriber)) continue;
      const l = subs.get(sub.subscriber);
      if (l === undefined) subs.set(sub.subscriber, [sub]);
      else l.push(sub);
    }
  }
  const out = new Map<Subscriber, SubOptions | undefined>();
  for (const [s, l] of subs) out.set(s, mergeOptions(l, msg.from === s.clientId));
  return out;
}

/** The options of one copy for several subscriptions; a No Local one does not count for the client's own message [MQTT-3.8.3-3]. */
export function mergeOptions(subs: readonly Subscription[], own: boolean): SubOptions {
  const use = own ? subs.filter((s) => !s.opts.nl) : subs;
  // all of them No Local: the session drops it as such
  if (use.length === 0) return subs[0]!.opts;
  let qos = 0;
  let rap = false;
  const ids: number[] = [];
  for (const { opts } of use) {
    if (opts.qos > qos) qos = opts.qos;
    rap ||= opts.rap;
    if (opts.subId !== undefined) ids.push(opts.subId);
  }
  return { qos: qos as QoS, nl: false, rap, rh: 0, subId: ids[0], subIds: ids.length > 1 ? ids : undefined, share: undefined };
}
