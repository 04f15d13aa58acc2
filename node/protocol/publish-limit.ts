import { ConfigError } from '../../shared/config.js';
import { TokenBucket } from '../core/token-bucket.js';

export interface RateLimit {
  /** messages a second */
  rate: number;
  /** messages at once (what the bucket holds) */
  burst: number;
}

let parsed: { text: string | undefined; limit: RateLimit | undefined } | undefined;

/**
 * STARLING_PUBLISH_RATE_LIMIT, EMQX's `<count>,<seconds>s` (rate_limit.conn_messages_in):
 * `100,10s` lets a client publish 100 messages at once and 10 a second after that. Unset or
 * empty: no limit. Parsed once per distinct text.
 */
export function parsePublishRateLimit(text: string | undefined): RateLimit | undefined {
  if (parsed !== undefined && parsed.text === text) return parsed.limit;
  let limit: RateLimit | undefined;
  if (text !== undefined && text.trim() !== '') {
    const m = /^\s*(\d+)\s*,\s*(\d+(?:\.\d+)?)\s*s?\s*$/.exec(text);
    const count = m ? Number(m[1]) : 0;
    const seconds = m ? Number(m[2]) : 0;
    if (!(count > 0 && seconds > 0)) throw new ConfigError(`publishRateLimit (STARLING_PUBLISH_RATE_LIMIT) must be <messages>,<seconds> such as 100,10s, got "${text}"`);
    limit = { rate: count / seconds, burst: count };
  }
  parsed = { text, limit };
  return limit;
}

/** A client's publish bucket, or undefined when publishing is not limited. */
export function publishBucket(text: string | undefined, now: number): TokenBucket | undefined {
  const limit = parsePublishRateLimit(text);
  return limit === undefined ? undefined : new TokenBucket(limit.rate, limit.burst, now);
}
