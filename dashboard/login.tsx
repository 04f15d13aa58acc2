import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiFailure, checkCredentials } from './lib/api.js';
import { login } from './lib/auth.js';

/** AppID and AppSecret of an API app (POST /api/v4/apps makes one); checked before they are kept. */
export function Login(): JSX.Element {
  const [appId, setAppId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = (e: Event): void => {
    e.preventDefault();
    setBusy(true);
    setError('');
    checkCredentials(appId, secret).then(
      () => login(appId, secret),
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof ApiFailure && err.status === 401 ? 'Wrong AppID or AppSecret.' : `Cannot log in: ${(err as Error).message}`);
      },
    );
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Starling dashboard</h1>
        <label>
          AppID
          <input name="appid" autocomplete="username" required value={appId} onInput={(e) => setAppId(e.currentTarget.value)} />
        </label>
        <label>
          AppSecret
          <input name="secret" type="password" autocomplete="current-password" required value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
        </label>
        {error ? (
          <p class="status bad" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}
