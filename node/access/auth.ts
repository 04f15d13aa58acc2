import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type AuthResult = 'ok' | 'anonymous' | 'bad_username_or_password' | 'not_authorized';

/** `password` is plain text, "sha256:<hex>" or "sha256:<salt>:<hex>" (hex of sha256(salt + password)). */
export interface UserEntry {
  username: string;
  password: string;
}

/** Every password is kept as salt + sha256 digest, plain ones included, so all checks compare 32 bytes. */
interface Stored {
  salt: Buffer;
  digest: Buffer;
}

const HASHED = /^sha256:(?:(.*):)?([0-9a-fA-F]{64})$/s;
const EMPTY = Buffer.alloc(0);
// Hashed for unknown users too, so response time does not reveal which usernames exist.
const DUMMY: Stored = { salt: EMPTY, digest: Buffer.alloc(32) };

function sha256(salt: Buffer, password: Buffer | string): Buffer {
  return createHash('sha256').update(salt).update(password).digest();
}

function compile(u: UserEntry): Stored {
  if (u.password.startsWith('sha256:')) {
    const m = HASHED.exec(u.password);
    if (!m) throw new Error(`user ${JSON.stringify(u.username)}: password starting "sha256:" must be "sha256:<64 hex>" or "sha256:<salt>:<64 hex>"`);
    return { salt: m[1] === undefined ? EMPTY : Buffer.from(m[1], 'utf8'), digest: Buffer.from(m[2]!, 'hex') };
  }
  return { salt: EMPTY, digest: sha256(EMPTY, u.password) };
}

export class Authenticator {
  private users = new Map<string, Stored>();
  /** whether a client without a known username gets in; the v3 configs API may change it at runtime */
  allowAnonymous: boolean;
  /** whether the users file is consulted (plugin emqx_auth_username): off, every username is unknown */
  usersEnabled = true;

  constructor(opts: { allowAnonymous: boolean; users: UserEntry[] }) {
    this.allowAnonymous = opts.allowAnonymous;
    this.setUsers(opts.users);
  }

  /** Replaces the user table (e.g. on reload); throws, leaving the old table, if an entry is malformed. */
  setUsers(users: UserEntry[]): void {
    const next = new Map<string, Stored>();
    for (const u of users) {
      if (next.has(u.username)) throw new Error(`duplicate user ${JSON.stringify(u.username)}`);
      next.set(u.username, compile(u));
    }
    this.users = next;
  }

  authenticate(username: string | undefined, password: Buffer | undefined): AuthResult {
    if (!username) return this.allowAnonymous ? 'anonymous' : 'not_authorized';
    const user = this.usersEnabled ? this.users.get(username) : undefined;
    if (!user) {
      sha256(DUMMY.salt, password ?? EMPTY);
      // EMQX with no auth source that knows the user lets it in as anonymous when allowed.
      return this.allowAnonymous ? 'anonymous' : 'bad_username_or_password';
    }
    if (password === undefined) return 'bad_username_or_password';
    return timingSafeEqual(sha256(user.salt, password), user.digest) ? 'ok' : 'bad_username_or_password';
  }
}

/** Reads a JSON array of {username, password}; throws an Error naming the file and entry on a bad shape. */
export function loadUsersFile(path: string): UserEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`users file ${path}: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new Error(`users file ${path}: expected a JSON array of {"username", "password"}`);
  const seen = new Set<string>();
  return data.map((e: unknown, i): UserEntry => {
    const where = `users file ${path}: entry ${i}`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new Error(`${where}: expected an object {"username", "password"}`);
    const { username, password } = e as Record<string, unknown>;
    if (typeof username !== 'string' || username === '') throw new Error(`${where}: "username" must be a non-empty string`);
    if (typeof password !== 'string' || password === '') throw new Error(`${where}: "password" must be a non-empty string`);
    if (seen.has(username)) throw new Error(`${where}: duplicate username ${JSON.stringify(username)}`);
    seen.add(username);
    const entry = { username, password };
    try {
      compile(entry);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
    return entry;
  });
}
