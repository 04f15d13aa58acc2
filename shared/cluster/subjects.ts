/**
 * NATS subjects addressed to one node. A node name (`starling@10.0.0.5`, `emqx@host.example.com`)
 * must become a single subject token: `.` separates tokens, `*` and `>` are wildcards and
 * whitespace ends the subject in the protocol line. So every byte of the name's UTF-8 outside
 * [A-Za-z0-9_-] is written as `~` + two lowercase hex digits (`~` itself included, which makes
 * the encoding reversible).
 */

const PLAIN = /^[A-Za-z0-9_-]$/;
const PLAIN_BYTE = new Uint8Array(256);
for (let b = 0; b < 128; b++) if (PLAIN.test(String.fromCharCode(b))) PLAIN_BYTE[b] = 1;

// with the u flag a proper surrogate pair is one code point, so only lone halves match
const LONE_SURROGATE = /\p{Cs}/u;
const utf8 = new TextEncoder();
// fatal: a token whose escapes do not spell valid UTF-8 is not one we made
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The node name as one NATS subject token (non-empty; only [A-Za-z0-9_~-]). */
export function encodeNodeToken(node: string): string {
  if (node.length === 0) throw new RangeError('node name must not be empty');
  // a lone surrogate would become U+FFFD in UTF-8 and not round-trip
  if (LONE_SURROGATE.test(node)) throw new RangeError(`node name is not valid Unicode: ${JSON.stringify(node)}`);
  let out = '';
  for (const b of utf8.encode(node)) {
    out += PLAIN_BYTE[b] ? String.fromCharCode(b) : '~' + b.toString(16).padStart(2, '0');
  }
  return out;
}

/** The node name a token stands for; throws on anything encodeNodeToken cannot produce. */
export function decodeNodeToken(token: string): string {
  if (token.length === 0) throw new RangeError('empty node token');
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 0x7e /* ~ */) {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new RangeError(`bad escape at ${i} in node token ${JSON.stringify(token)}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 128 && PLAIN_BYTE[c]) {
      bytes.push(c);
    } else {
      throw new RangeError(`unexpected character at ${i} in node token ${JSON.stringify(token)}`);
    }
  }
  try {
    return utf8Strict.decode(new Uint8Array(bytes));
  } catch {
    throw new RangeError(`node token ${JSON.stringify(token)} is not valid UTF-8`);
  }
}

export const RPC_PREFIX = 'starling.rpc';

/** Where `node` answers RPC. (A node's forwarding subjects: node/cluster/forwarding/subjects.ts.) */
export function rpcSubject(node: string): string {
  return `${RPC_PREFIX}.${encodeNodeToken(node)}`;
}
