// The shell: the login form until there is a session, then the navigation and the page
// named by the URL's hash (#/clients), so links and the back button work without a server route.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, logout, onSession, type Session } from './lib/auth.js';
import { Login } from './login.js';
import { NodeWatch } from './lib/nodes.js';
import { PAGES } from './pages/index.js';

function route(): string {
  return location.hash.replace(/^#\/?/, '').split('?')[0] || 'overview';
}

export function App(): JSX.Element {
  const [session, setSession] = useState<Session | null>(currentSession());
  const [path, setPath] = useState(route());
  const [menu, setMenu] = useState(false);
  useEffect(() => onSession(setSession), []);
  useEffect(() => {
    const h = (): void => {
      setPath(route());
      setMenu(false);
    };
    addEventListener('hashchange', h);
    // the idle expiry also ends a session nobody touches
    const t = setInterval(() => setSession(currentSession()), 15_000);
    return () => {
      removeEventListener('hashchange', h);
      clearInterval(t);
    };
  }, []);
  if (!session) return <Login />;
  const [name, ...rest] = path.split('/');
  const page = PAGES.find((p) => p.path === name) ?? PAGES[0]!;
  const View = page.view;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Starling</span>
        <button type="button" class="menu-toggle" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>
          Menu
        </button>
        <span class="who">{session.appId}</span>
        <button type="button" onClick={logout}>
          Log out
        </button>
      </header>
      <nav id="nav" class={menu ? "nav open" : "nav"} aria-label="Main">
        <ul>
          {PAGES.map((p) => (
            <li key={p.path}>
              <a href={`#/${p.path}`} aria-current={p === page ? 'page' : undefined}>
                {p.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <NodeWatch />
        <View sub={rest.map(decodeURIComponent)} />
      </main>
    </div>
  );
}
