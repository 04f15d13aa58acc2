import { topicMatches } from '../../../shared/topic.js';

/**
 * `topic =~ 'filter'` with the filter written in the SQL: compiled once into a regular
 * expression (no split of the filter and the topic per message, as topicMatches does).
 * `+` is one level, a trailing `#` the parent and any levels below; a `$` topic is not
 * matched by a leading wildcard [MQTT-4.7.2-1].
 */
export function filterMatcher(filter: string): (topic: string) => boolean {
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
  return (topic) => (leadingWild && topic.charCodeAt(0) === 36 ? false : re.test(topic));
}
