import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { HostState } from '../../../common/bridge.js';
import { isChatApiError, type PeerStatus } from '../../../common/chat-api.js';
import type { Connection } from '../bridge/connect.js';
import { deriveGroupStatus } from '../logic/group-status.js';
import { AdminPanel, type TimelineItem } from './Admin.js';
import { AuthScreen, type Session } from './Auth.js';
import { ChatScreen } from './Chat.js';
import { ConfirmDialog } from './Dialog.js';
import { EventBus, safeLocalStorage, useConnected, usePeerStatus } from './hooks.js';
import { JoiningScreen, SetupScreen } from './Setup.js';
import { friendlyError } from '../logic/errors.js';

export function App({ conn }: { conn: Connection }) {
  const connected = useConnected(conn.link);
  const [host, setHost] = useState<HostState | null>(null);
  const [hostError, setHostError] = useState<string | null>(null);

  useEffect(() => conn.host.onHostState(setHost), [conn]);
  useEffect(() => {
    if (!connected) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const load = async () => {
      try {
        const s = await conn.host.hostState();
        if (stopped) return;
        setHost(s);
        setHostError(null);
        // While joining, look again until this peer is a member (pushes may also say so).
        if (s.state === 'joining') timer = setTimeout(() => void load(), 1000);
      } catch (err) {
        if (stopped) return;
        setHostError(friendlyError(err));
        timer = setTimeout(() => void load(), 2000);
      }
    };
    void load();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [conn, connected, host?.state]);

  if (!host) {
    return (
      <div className="app">
        <DisconnectedBar connected={connected} />
        <main className="centered" id="main">
          {hostError ? <p className="error" role="alert">{hostError}</p> : <p className="muted" aria-live="polite">{connected ? 'Loading…' : 'Connecting to your peer…'}</p>}
        </main>
      </div>
    );
  }
  if (host.state === 'setup') return <div className="app"><DisconnectedBar connected={connected} /><SetupScreen host={conn.host} onState={setHost} /></div>;
  if (host.state === 'joining') return <div className="app"><DisconnectedBar connected={connected} /><JoiningScreen state={host} /></div>;
  return <Member conn={conn} host={host} connected={connected} />;
}

function DisconnectedBar({ connected }: { connected: boolean }) {
  return connected ? <StatusBar kind="setup" text="Not in a group yet" /> : <StatusBar kind="disconnected" text="Disconnected from your peer — reconnecting" />;
}

/** The always-visible status line; after a long disconnection it adds what to do. */
function StatusBar({ kind, text }: { kind: string; text: string }) {
  const [long, setLong] = useState(false);
  useEffect(() => {
    setLong(false);
    if (kind !== 'disconnected') return;
    const t = setTimeout(() => setLong(true), 15000);
    return () => clearTimeout(t);
  }, [kind]);
  return (
    <div className={`status-bar status-${kind === 'setup' ? 'loading' : kind}`} role="status" aria-live="polite" data-testid="group-status" data-kind={kind}>
      <span className="dot" aria-hidden="true" />{text}
      {long ? <span className="status-hint"> (if your peer was restarted, open the address it printed)</span> : null}
    </div>
  );
}

function sessionKey(nodeId: string): string { return `qc.session.${nodeId}`; }

function loadSession(nodeId: string): Session | null {
  const raw = safeLocalStorage()?.getItem(sessionKey(nodeId));
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    return typeof s.username === 'string' && typeof s.token === 'string' ? s : null;
  } catch {
    return null;
  }
}

function saveSession(nodeId: string, s: Session | null): void {
  const storage = safeLocalStorage();
  if (!storage) return;
  if (s) storage.setItem(sessionKey(nodeId), JSON.stringify(s));
  else storage.removeItem(sessionKey(nodeId));
}

type AuthState = { kind: 'checking' } | { kind: 'out'; notice: string | null } | { kind: 'in'; session: Session };

function Member({ conn, host, connected }: { conn: Connection; host: Extract<HostState, { state: 'member' }>; connected: boolean }) {
  const api = conn.api;
  const nodeId = host.nodeId;
  const [auth, setAuth] = useState<AuthState>({ kind: 'checking' });
  const [tab, setTab] = useState<'chat' | 'admin'>('chat');
  const bus = useMemo(() => new EventBus(), []);
  const { status, at: statusAt } = usePeerStatus(api, connected, 1000);
  const [eventLeader, setEventLeader] = useState<{ leader: string | null; at: number } | undefined>(undefined);
  const [leaderEvents, setLeaderEvents] = useState<TimelineItem[]>([]);

  // Restore the session kept for this peer.
  useEffect(() => {
    const stored = loadSession(nodeId);
    if (!stored) {
      setAuth({ kind: 'out', notice: null });
      return;
    }
    api.useCredentials({ token: stored.token });
    let stopped = false;
    const check = async () => {
      try {
        const who = await api.whoami();
        if (!stopped) setAuth({ kind: 'in', session: { username: who.account.username, token: stored.token } });
      } catch (err) {
        if (stopped) return;
        if (isChatApiError(err) && (err.code === 'unavailable' || err.code === 'timeout' || err.code === 'no-quorum')) {
          // Not an answer about the session: keep it and show the chat (the outbox will wait).
          setAuth({ kind: 'in', session: stored });
          return;
        }
        saveSession(nodeId, null);
        api.useCredentials(null);
        setAuth({ kind: 'out', notice: 'Your session has ended; please log in again.' });
      }
    };
    void check();
    return () => { stopped = true; };
  }, [api, nodeId]);

  const me = auth.kind === 'in' ? auth.session.username : null;

  // One subscription per session: chat events go to the bus, group events to the status bar.
  useEffect(() => {
    if (auth.kind === 'checking') return;
    let unsubscribe: (() => void) | null = null;
    let stopped = false;
    void api.subscribe((event) => {
      if (event.type === 'group') {
        setEventLeader({ leader: event.leader, at: Date.now() });
        setLeaderEvents((list) => {
          const last = list[0];
          if (last && last.node === event.leader && last.term === event.term) return list;
          return [{ at: Date.now(), term: event.term, kind: event.leader ? 'leader' : 'no-leader', node: event.leader, source: 'event' } satisfies TimelineItem, ...list].slice(0, 100);
        });
      }
      if (event.type === 'ended' && event.reason !== 'peer-stopping') {
        saveSession(nodeId, null);
        api.useCredentials(null);
        setAuth({ kind: 'out', notice: event.reason === 'account-deleted' ? 'Your account was deleted.' : 'You were logged out.' });
      }
      bus.emit(event);
    }).then((u) => {
      if (stopped) u();
      else unsubscribe = u;
    }, () => undefined);
    return () => {
      stopped = true;
      unsubscribe?.();
    };
    // Re-subscribe when the session changes (events depend on who is bound).
  }, [api, bus, me, nodeId, auth.kind]);

  const view = deriveGroupStatus({
    connected,
    status,
    eventLeader: eventLeader && eventLeader.at > statusAt ? eventLeader.leader : undefined,
  });

  const onSession = useCallback((s: Session) => {
    saveSession(nodeId, s);
    setAuth({ kind: 'in', session: s });
  }, [nodeId]);
  const onSignedOut = useCallback((notice: string | null) => {
    saveSession(nodeId, null);
    api.useCredentials(null);
    setAuth({ kind: 'out', notice });
  }, [api, nodeId]);

  return (
    <div className="app">
      <a href="#main" className="skip-link">Skip to content</a>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">◆</span>
          <span className="brand-name">Quorum Chat</span>
          {host.groupName ? <span className="muted group-name">· {host.groupName}</span> : null}
        </div>
        <nav className="tabs" aria-label="Sections">
          <button type="button" className={tab === 'chat' ? 'tab active' : 'tab'} aria-current={tab === 'chat' ? 'page' : undefined}
            onClick={() => setTab('chat')} data-testid="chat-tab">Chat</button>
          <button type="button" className={tab === 'admin' ? 'tab active' : 'tab'} aria-current={tab === 'admin' ? 'page' : undefined}
            onClick={() => setTab('admin')} data-testid="admin-tab">Admin</button>
        </nav>
        {auth.kind === 'in' ? <AccountMenu api={api} username={auth.session.username} onSignedOut={onSignedOut} /> : <span />}
      </header>
      <StatusBar kind={view.kind} text={view.text} />
      {tab === 'admin' ? (
        <AdminPanel api={api} host={conn.host} hostState={host} status={status} connected={connected} leaderEvents={leaderEvents} />
      ) : auth.kind === 'checking' ? (
        <main className="centered" id="main"><p className="muted">Loading…</p></main>
      ) : auth.kind === 'out' ? (
        <AuthScreen api={api} onSession={onSession} notice={auth.notice} />
      ) : (
        <ChatScreen key={auth.session.username} api={api} me={auth.session.username} bus={bus} connected={connected}
          lockName={`qc-outbox:${conn.peerKey}:${nodeId}:${auth.session.username}`} />
      )}
    </div>
  );
}

function AccountMenu({ api, username, onSignedOut }: { api: Connection['api']; username: string; onSignedOut: (notice: string | null) => void }) {
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const menuRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') setOpen(false); };
    const onClick = (e: MouseEvent) => { if (menuRef.current && !menuRef.current.contains(e.target as Node)) setOpen(false); };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onClick);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onClick);
    };
  }, [open]);

  const logout = async () => {
    setOpen(false);
    try {
      await api.logout();
    } catch {
      // The session ends locally either way.
    }
    onSignedOut(null);
  };
  const deleteAccount = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.deleteAccount();
      setConfirm(false);
      onSignedOut('Your account was deleted.');
    } catch (err) {
      setError(friendlyError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="account" ref={menuRef}>
      <button type="button" className="account-button" aria-haspopup="menu" aria-expanded={open}
        onClick={() => setOpen((o) => !o)} data-testid="account-menu">
        <span className="avatar" aria-hidden="true">{username.slice(0, 1).toUpperCase()}</span>{username}
      </button>
      {open ? (
        <div className="menu" role="menu">
          <button type="button" role="menuitem" onClick={() => void logout()} data-testid="logout" autoFocus>Log out</button>
          <button type="button" role="menuitem" className="danger-text" data-testid="delete-account"
            onClick={() => { setOpen(false); setError(null); setConfirm(true); }}>Delete account…</button>
        </div>
      ) : null}
      <ConfirmDialog open={confirm} title={`Delete the account ${username}?`} confirmLabel="Delete my account" danger busy={busy}
        error={error} onConfirm={() => void deleteAccount()} onCancel={() => setConfirm(false)}>
        <p>This cannot be undone. Messages you received are deleted with your account; messages you sent stay, shown as from a deleted account.</p>
        <p>The name {username} becomes free for someone else.</p>
      </ConfirmDialog>
    </div>
  );
}

export type { PeerStatus };
