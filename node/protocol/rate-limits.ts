import { ConfigError } from '../../shared/config.js';
import { TokenBucket } from '../core/token-bucket.js';

/**
 * A client's inbound rate limits, as EMQX's zone rate_limit: messages published
 * (STARLING_PUBLISH_RATE_LIMIT, conn_messages_in) and bytes read
 * (STARLING_BYTES_RATE_LIMIT, conn_bytes_in), each `<amount>,<seconds>s`: `100,10s` allows
 * 100 at once and 10 a second after that. Unset or empty: no limit.
 */
export interface RateLimit {
  /** per second */
  rate: number;
  /** at once (what the bucket holds) */
  burst: number;
}

const UNITS: Record<string, number> = { '': 1, B: 1, KB: 1024, MB: 1024 * 1024, GB: 1024 * 1024 * 1024 };
const cache = new Map<string, RateLimit>();

function parse(key: string, env: string, text: string | undefined, sizes: boolean): RateLimit | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const hit = cache.get(`${key}:${text}`);
  if (hit) return hit;
  const m = /^\s*(\d+)\s*([KMG]?B)?\s*,\s*(\d+(?:\.\d+)?)\s*s?\s*$/i.exec(text);
  const unit = m?.[2]?.toUpperCase() ?? '';
  const amount = m && (sizes || unit === '') ? Number(m[1]) * UNITS[unit]! : 0;
  const seconds = m ? Number(m[3]) : 0;
  if (!(amount > 0 && seconds > 0)) {
    const example = sizes ? '100KB,10s' : '100,10s';
    throw new ConfigError(`${key} (${env}) must be <${sizes ? 'bytes' : 'messages'}>,<seconds>s such as ${example}, got "${text}"`);
  }
  const limit = { rate: amount / seconds, burst: amount };
  cache.set(`${key}:${text}`, limit);
  return limit;
}

export const parsePublishRateLimit = (text: string | undefined): RateLimit | undefined => parse('publishRateLimit', 'STARLING_PUBLISH_RATE_LIMIT', text, false);
export const parseBytesRateLimit = (text: string | undefined): RateLimit | undefined => parse('bytesRateLimit', 'STARLING_BYTES_RATE_LIMIT', text, true);

/** A bucket for a limit, or undefined when there is none. */
export function bucketFor(limit: RateLimit | undefined, now: number): TokenBucket | undefined {
  return limit === undefined ? undefined : new TokenBucket(limit.rate, limit.burst, now);
}
