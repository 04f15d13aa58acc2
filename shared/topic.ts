/**
 * Topic names and filters, as MQTT 3.1.1 §4.7 and MQTT 5 §4.7 define them. Shared by the
 * nodes (protocol checks, routing) and the gateway (API input validation).
 */

export interface TopicLimits {
  /** 0 means no limit */
  maxLevels: number;
}

const NO_LIMITS: TopicLimits = { maxLevels: 0 };

function levelsOk(topic: string, limits: TopicLimits): boolean {
  if (limits.maxLevels <= 0) return true;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) levels++;
  return levels <= limits.maxLevels;
}

/** A topic name for PUBLISH: non-empty, no wildcards, no NUL [MQTT-4.7.3-1, MQTT-4.7.1-1]. */
export function validTopicName(topic: string, limits: TopicLimits = NO_LIMITS): boolean {
  if (topic.length === 0 || topic.length > 65535) return false;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 35 /* # */ || c === 43 /* + */ || c === 0) return false;
  }
  return levelsOk(topic, limits);
}

/** A topic filter for SUBSCRIBE: `#` only last and alone in its level, `+` alone in its level [MQTT-4.7.1-2, MQTT-4.7.1-3]. */
export function validTopicFilter(filter: string, limits: TopicLimits = NO_LIMITS): boolean {
  if (filter.length === 0 || filter.length > 65535) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('\u0000')) return false;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false;
    if (l.includes('+') && l !== '+') return false;
  }
  return limits.maxLevels <= 0 || levels.length <= limits.maxLevels;
}

export function isWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/** Whether a topic name matches a filter; `$`-topics are not matched by a leading wildcard [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === 36 /* $ */ && (filter.charCodeAt(0) === 43 || filter.charCodeAt(0) === 35)) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const fl = f[i]!;
    if (fl === '#') return true;
    if (i >= t.length) return false;
    if (fl !== '+' && fl !== t[i]) return false;
  }
  return f.length === t.length;
}

export interface ParsedShare {
  /** the group name, or `$queue` for the legacy `$queue/` prefix */
  group: string;
  filter: string;
}

/**
 * Splits `$share/<group>/<filter>` and `$queue/<filter>` subscriptions. Returns undefined
 * for an ordinary filter and null for a malformed share (empty or wildcard group, empty filter).
 */
export function parseShare(filter: string): ParsedShare | undefined | null {
  if (filter.startsWith('$queue/')) {
    const f = filter.slice(7);
    return f.length > 0 ? { group: '$queue', filter: f } : null;
  }
  if (!filter.startsWith('$share/')) return undefined;
  const rest = filter.slice(7);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const group = rest.slice(0, slash);
  const f = rest.slice(slash + 1);
  if (group.includes('+') || group.includes('#') || f.length === 0) return null;
  return { group, filter: f };
}
