import { topicMatches } from '../../../shared/topic.js';

/**
 * `topic =~ 'filter'` with the filter written in the SQL: compiled once into a regular
 * expression (no split of the filter and the topic per message, as topicMatches does).
 * `+` is one level, a trailing `#` the parent and any levels below; a `$` topic is not
 * matched by a leading wildcard [MQTT-4.7.2-1].
 */
export function filterMatcher(filter: string): (topic: string) => boolean {
  let m = matchers.get(filter);
  if (m === undefined) {
    // rules come and go: a filter no rule names any more is not kept for ever
    if (matchers.size >= MAX_SHARED) matchers.clear();
    matchers.set(filter, (m = newMatcher(filter)));
  }
  return m;
}

/**
 * One matcher per filter, shared by the rules that write it (compile time, not per
 * message): each remembers its last topic, so the rules one message runs test it once.
 */
const matchers = new Map<string, (topic: string) => boolean>();
const MAX_SHARED = 1000;

function newMatcher(filter: string): (topic: string) => boolean {
  const levels = filter.split('/');
  const hashAt = levels.indexOf('#');
  // a `#` that is not last is no filter: fall back to the general match (which refuses it alike)
  if (hashAt >= 0 && hashAt !== levels.length - 1) return (topic) => topicMatches(filter, topic);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let src = '';
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    const sep = i === 0 ? '' : '/';
    if (l === '#') src += i === 0 ? '.*' : '(?:/.*)?';
    else src += sep + (l === '+' ? '[^/]*' : esc(l));
  }
  const re = new RegExp(`^${src}$`, 's');
  const leadingWild = levels[0] === '+' || levels[0] === '#';
  // the last topic and its answer: the rules a message runs all test that one topic
  let last: string | undefined;
  let lastHit = false;
  return (topic) => {
    if (topic !== last) {
      last = topic;
      lastHit = leadingWild && topic.charCodeAt(0) === 36 ? false : re.test(topic);
    }
    return lastHit;
  };
}
