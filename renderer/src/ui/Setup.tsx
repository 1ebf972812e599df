import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { DiscoveredGroup, HostState } from '../../../common/bridge.js';
import type { RemoteHostApi } from '../bridge/remote-chat-api.js';
import { friendlyError } from '../logic/errors.js';

/** First run: found a group or join one. */
export function SetupScreen({ host, onState }: { host: RemoteHostApi; onState: (s: HostState) => void }) {
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [address, setAddress] = useState('');
  const [busy, setBusy] = useState<'create' | 'join' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [groups, setGroups] = useState<readonly DiscoveredGroup[] | null>(null);
  const [discovering, setDiscovering] = useState(false);
  const [discoverError, setDiscoverError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);

  const discover = useCallback(async () => {
    setDiscovering(true);
    setDiscoverError(null);
    try {
      setGroups(await host.discoverGroups());
    } catch (err) {
      setDiscoverError(friendlyError(err));
    } finally {
      setDiscovering(false);
    }
  }, [host]);
  useEffect(() => { void discover(); }, [discover]);

  const chosenGroup = groups?.find((g) => g.groupId === chosen) ?? null;

  /** Submits one of the two forms: busy while `act` runs, then the new state or the error. */
  const submit = (kind: 'create' | 'join', filled: string, act: () => Promise<HostState>) => async (e: FormEvent) => {
    e.preventDefault();
    if (!filled.trim()) return;
    setBusy(kind);
    setError(null);
    try {
      onState(await act());
    } catch (err) {
      setError(friendlyError(err));
    } finally {
      setBusy(null);
    }
  };
  const create = submit('create', name, () => host.createGroup(name.trim()));
  const join = submit('join', code, () => host.joinGroup(code.trim(), address.trim() || undefined));

  return (
    <main className="setup" id="main">
      <h1>Welcome to Quorum Chat</h1>
      <p className="muted">Every copy of this app keeps the whole chat. Start a new group, or join the group of your office.</p>
      {error ? <p className="error" role="alert" data-testid="setup-error">{error}</p> : null}
      <div className="setup-cards">
        <section className="card" aria-labelledby="create-title">
          <h2 id="create-title">Start a new group</h2>
          <form onSubmit={create}>
            <label htmlFor="setup-name">Group name</label>
            <input id="setup-name" data-testid="setup-create-name" value={name} onChange={(e) => setName(e.target.value)}
              placeholder="e.g. Office" autoComplete="off" />
            <button type="submit" className="primary" data-testid="setup-create-button" disabled={busy !== null || !name.trim()}>
              {busy === 'create' ? 'Creating…' : 'Create group'}
            </button>
          </form>
        </section>
        <section className="card" aria-labelledby="join-title">
          <h2 id="join-title">Join a group</h2>
          <div className="row spread">
            <h3 className="small-title">Groups on this network</h3>
            <button type="button" onClick={() => void discover()} disabled={discovering} data-testid="discover-refresh">
              {discovering ? 'Looking…' : 'Refresh'}
            </button>
          </div>
          {discoverError ? <p className="error">{discoverError}</p> : null}
          {groups === null ? <p className="muted">Looking for groups…</p>
            : groups.length === 0 ? <p className="muted">No groups found on this network. You can still join with an address below.</p>
              : (
                <ul className="group-list" data-testid="discovered-groups">
                  {groups.map((g) => (
                    <li key={g.groupId}>
                      <label className="radio">
                        <input type="radio" name="discovered" checked={chosen === g.groupId} data-testid="discovered-group"
                          onChange={() => setChosen(g.groupId)} />
                        <span><strong>{g.groupName}</strong> <span className="muted">— {g.members} {g.members === 1 ? 'member' : 'members'}</span></span>
                      </label>
                    </li>
                  ))}
                </ul>
              )}
          <form onSubmit={join}>
            <label htmlFor="join-code">Invite code{chosenGroup ? ` of ${chosenGroup.groupName}` : ''}</label>
            <input id="join-code" data-testid="join-code" value={code} onChange={(e) => setCode(e.target.value)}
              placeholder="qc1-…" autoComplete="off" spellCheck={false} />
            <label htmlFor="join-address">Address of a member <span className="muted">(optional, host:port)</span></label>
            <input id="join-address" data-testid="join-address" value={address} onChange={(e) => setAddress(e.target.value)}
              placeholder="192.168.1.10:7400" autoComplete="off" spellCheck={false} />
            <button type="submit" className="primary" data-testid="join-button" disabled={busy !== null || !code.trim()}>
              {busy === 'join' ? 'Joining…' : 'Join group'}
            </button>
          </form>
        </section>
      </div>
    </main>
  );
}

export function JoiningScreen({ state }: { state: Extract<HostState, { state: 'joining' }> }) {
  return (
    <main className="setup" id="main">
      <h1>Joining {state.groupName || 'the group'}…</h1>
      <div className="progress" role="progressbar" aria-label="Joining the group" data-testid="joining" />
      <p className="muted" aria-live="polite">
        This peer ({state.nodeId}) is catching up with the group. It becomes a full member once it has a copy of the chat.
      </p>
    </main>
  );
}
