import { useState, type FormEvent } from 'react';
import type { ChatApi } from '../../../common/chat-api.js';
import { friendlyError } from '../logic/errors.js';

export interface Session { readonly username: string; readonly token: string }

/** Register or log in. */
export function AuthScreen({ api, onSession, notice }: { api: ChatApi; onSession: (s: Session) => void; notice?: string | null }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState<'login' | 'register' | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (mode: 'login' | 'register', e?: FormEvent) => {
    e?.preventDefault();
    const name = username.trim();
    if (!name || !password) {
      setError('Enter a name and a password');
      return;
    }
    setBusy(mode);
    setError(null);
    try {
      if (mode === 'register') await api.register(name, password);
      const result = await api.login(name, password);
      onSession({ username: result.account.username, token: result.token });
    } catch (err) {
      setError(friendlyError(err, { username: name }));
    } finally {
      setBusy(null);
    }
  };

  return (
    <main className="auth" id="main">
      <section className="card auth-card" aria-labelledby="auth-title">
        <h1 id="auth-title">Sign in</h1>
        {notice ? <p className="notice" role="status">{notice}</p> : null}
        <form onSubmit={(e) => void submit('login', e)}>
          <label htmlFor="auth-username">Name</label>
          <input id="auth-username" data-testid="auth-username" value={username} autoComplete="username"
            onChange={(e) => setUsername(e.target.value)} autoFocus />
          <label htmlFor="auth-password">Password</label>
          <input id="auth-password" data-testid="auth-password" type="password" value={password}
            autoComplete="current-password" onChange={(e) => setPassword(e.target.value)} />
          {error ? <p className="error" role="alert" data-testid="auth-error">{error}</p> : null}
          <div className="row">
            <button type="submit" className="primary" data-testid="auth-login" disabled={busy !== null}>
              {busy === 'login' ? 'Logging in…' : 'Log in'}
            </button>
            <button type="button" data-testid="auth-register" disabled={busy !== null} onClick={() => void submit('register')}>
              {busy === 'register' ? 'Creating account…' : 'Create account'}
            </button>
          </div>
        </form>
        <p className="muted small">Your account works on every peer of the group.</p>
      </section>
    </main>
  );
}
