/**
 * Names in the JetStream store. A clientid may hold any UTF-8 character, and a NATS subject
 * token or KV key may not (no '.', '*', '>', blanks): clientids are base64url-encoded, whose
 * alphabet (A-Z a-z 0-9 - _) is valid in both.
 */
export const MESSAGES_STREAM = 'STARLING_SESSIONS';
export const RECORDS_BUCKET = 'starling_sessions';
export const SUBJECT_PREFIX = 'starling.sess';

export function encodeClientId(clientid: string): string {
  return Buffer.from(clientid, 'utf8').toString('base64url');
}

export function decodeClientId(key: string): string {
  return Buffer.from(key, 'base64url').toString('utf8');
}

/** The subject a session incarnation's messages are stored under; every incarnation with `gen` undefined. */
export function messageSubject(clientid: string, gen: string | undefined): string {
  return `${SUBJECT_PREFIX}.${encodeClientId(clientid)}.${gen ?? '>'}`;
}
