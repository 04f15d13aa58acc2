// The operator's session: an API app's AppID and AppSecret, kept in sessionStorage (gone
// with the tab) with an idle expiry. Every API call renews it; a 401 or the expiry ends it.

const KEY = 'starling.session';
/** Idle time after which the session ends and the login form comes back. */
export const IDLE_MS = 30 * 60 * 1000;

export interface Session {
  appId: string;
  secret: string;
  expires: number;
}

type Listener = (s: Session | null) => void;
const listeners = new Set<Listener>();

export function currentSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    if (typeof s.appId !== 'string' || typeof s.secret !== 'string' || !(s.expires > Date.now())) {
      logout();
      return null;
    }
    return s;
  } catch {
    logout();
    return null;
  }
}

export function login(appId: string, secret: string): void {
  const s: Session = { appId, secret, expires: Date.now() + IDLE_MS };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  for (const l of listeners) l(s);
}

/** Pushes the expiry out after activity (an API call made on the operator's behalf). */
export function touch(): void {
  const s = currentSession();
  if (s) sessionStorage.setItem(KEY, JSON.stringify({ ...s, expires: Date.now() + IDLE_MS }));
}

export function logout(): void {
  const had = sessionStorage.getItem(KEY) !== null;
  sessionStorage.removeItem(KEY);
  if (had) for (const l of listeners) l(null);
}

export function onSession(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function basicAuth(s: Pick<Session, 'appId' | 'secret'>): string {
  // btoa takes Latin-1: encode as UTF-8 first so any AppSecret works
  const bytes = new TextEncoder().encode(`${s.appId}:${s.secret}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}
