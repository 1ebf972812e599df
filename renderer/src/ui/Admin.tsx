import { useEffect, useMemo, useState } from 'react';
import type { HostState } from '../../../common/bridge.js';
import type { ChatApi, PeerStatus } from '../../../common/chat-api.js';
import { mergeTimeline, type TimelineItem } from '../logic/timeline.js';

export type { TimelineItem };
import type { RemoteHostApi } from '../bridge/remote-chat-api.js';
import { friendlyError } from '../logic/errors.js';
import { clockTime, secondsAgo } from '../logic/format.js';
import { ConfirmDialog } from './Dialog.js';
import { useNow } from './hooks.js';

export function AdminPanel({ api, host, hostState, status, connected, leaderEvents }: {
  api: ChatApi; host: RemoteHostApi; hostState: Extract<HostState, { state: 'member' }>; status: PeerStatus | null;
  connected: boolean; leaderEvents: readonly TimelineItem[];
}) {
  const now = useNow(500);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const [invite, setInvite] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    if (hostState.staticGroup || !connected) return;
    host.inviteCode().then(setInvite, () => setInvite(null));
  }, [host, hostState.staticGroup, connected]);

  const timeline = useMemo(() => mergeTimeline(status?.timeline ?? [], leaderEvents), [status?.timeline, leaderEvents]);

  if (!status) {
    return (
      <main className="admin" id="main">
        <h1>Admin</h1>
        <p className="muted">{connected ? 'Loading the peer’s status…' : 'Disconnected from your peer — reconnecting'}</p>
      </main>
    );
  }

  /** One admin action at a time: busy while it runs, its outcome as a notice or an error. */
  const act = async (name: string, run: () => Promise<string>) => {
    setBusy(name);
    setError(null);
    setNotice(null);
    try {
      setNotice(await run());
    } catch (err) {
      setError(friendlyError(err));
    } finally {
      setBusy(null);
    }
  };
  const transfer = () => act('transfer', async () => {
    const s = await api.transferLeadership();
    return `Leadership moved to ${s.leader ?? s.id}.`;
  });
  const remove = async () => {
    if (!removing) return;
    await act('remove', async () => {
      await api.removeMember(removing);
      setRemoving(null);
      return `${removing} was removed from the group.`;
    });
  };
  const copy = async () => {
    if (!invite) return;
    try {
      await navigator.clipboard.writeText(invite);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setError('Could not copy; select the code and copy it by hand.');
    }
  };

  const isLeader = status.role === 'leader';
  const isLearner = status.members.find((m) => m.id === status.id)?.role === 'learner';
  const logSize = status.lastIndex >= status.firstIndex ? status.lastIndex - status.firstIndex + 1 : 0;
  const dynamic = status.dynamicMembership;

  return (
    <main className="admin" id="main">
      <h1>Admin</h1>
      {error ? <p className="error banner" role="alert" data-testid="admin-error">{error}</p> : null}
      {notice ? <p className="notice" role="status" data-testid="admin-notice">{notice}</p> : null}
      <section className="card" aria-labelledby="peer-title">
        <h2 id="peer-title">This peer</h2>
        <dl className="facts">
          <div><dt>Peer id</dt><dd data-testid="admin-peer-id">{status.id}</dd></div>
          <div><dt>Role</dt><dd data-testid="admin-role">{status.role}</dd></div>
          <div><dt>Term</dt><dd data-testid="admin-term">{status.term}</dd></div>
          <div><dt>Leader</dt><dd data-testid="admin-leader">{status.leader ?? 'none'}</dd></div>
          <div><dt>Commit index</dt><dd data-testid="admin-commit">{status.commitIndex}</dd></div>
          <div><dt>Applied index</dt><dd data-testid="admin-applied">{status.appliedIndex}</dd></div>
          <div><dt>Log</dt><dd data-testid="admin-log">{logSize} entries ({status.firstIndex}–{status.lastIndex})</dd></div>
          <div><dt>Last snapshot</dt><dd data-testid="admin-snapshot">{status.snapshotIndex}</dd></div>
        </dl>
        <div className="row">
          <button type="button" className="primary" onClick={() => void transfer()} disabled={isLeader || isLearner || busy !== null || !connected}
            data-testid="transfer-here">{busy === 'transfer' ? 'Moving leadership…' : 'Make this peer the leader'}</button>
          {isLeader ? <span className="muted small">This peer is the leader.</span> : null}
          {isLearner ? <span className="muted small">This peer is a learner (no vote yet), so it cannot lead.</span> : null}
        </div>
      </section>

      {!hostState.staticGroup ? (
        <section className="card" aria-labelledby="invite-title">
          <h2 id="invite-title">Invite code</h2>
          <p className="muted small">Anyone with this code can join the group and read every message. Share it only with members.</p>
          <div className="row">
            <code className="invite" data-testid="invite-code">{invite ?? '…'}</code>
            <button type="button" onClick={() => void copy()} disabled={!invite} data-testid="invite-copy">{copied ? 'Copied' : 'Copy'}</button>
          </div>
        </section>
      ) : null}

      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">Members</h2>
        {!dynamic ? <p className="muted small" data-testid="static-note">This group has a fixed membership (started with --peers): members cannot be added or removed here.</p> : null}
        <div className="table-wrap">
          <table data-testid="members-table">
            <thead>
              <tr><th scope="col">Peer</th><th scope="col">Address</th><th scope="col">Kind</th><th scope="col">Reachable</th>
                <th scope="col">Match index</th><th scope="col">Lag</th><th scope="col">Last contact</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
            </thead>
            <tbody>
              {status.members.map((m) => {
                const self = m.id === status.id;
                const reachable = self || m.reachable;
                return (
                  <tr key={m.id} data-testid="member-row" data-member-id={m.id}>
                    <th scope="row">{m.id}{self ? ' (this peer)' : ''}{m.id === status.leader ? ' ★' : ''}</th>
                    <td>{m.address ?? '—'}</td>
                    <td>{m.role}</td>
                    <td><span className={reachable ? 'ok' : 'bad'}>{reachable ? 'yes' : 'no'}</span></td>
                    <td>{isLeader ? m.matchIndex : '—'}</td>
                    <td>{isLeader ? Math.max(0, status.commitIndex - m.matchIndex) : '—'}</td>
                    <td>{self ? 'this peer' : secondsAgo(m.lastContact, now)}</td>
                    <td>
                      <button type="button" className="small-button danger" data-testid="remove-member" aria-label={`Remove ${m.id}`}
                        disabled={!dynamic || busy !== null} title={dynamic ? undefined : 'Fixed membership: static groups cannot remove members'}
                        onClick={() => { setError(null); setRemoving(m.id); }}>Remove</button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>

      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Elections and leader changes</h2>
        {timeline.length === 0 ? <p className="muted small">Nothing yet.</p> : (
          <ol className="timeline" data-testid="timeline" aria-live="polite">
            {timeline.map((e, i) => (
              <li key={`${e.at}-${e.kind}-${e.node}-${i}`} data-kind={e.kind}>
                <time className="muted">{clockTime(e.at)} ({secondsAgo(e.at, now)})</time>{' '}
                <span>term {e.term}: {e.kind === 'election' ? 'election started' : e.kind === 'leader' ? `${e.node} leads` : 'leader lost'}</span>
              </li>
            ))}
          </ol>
        )}
      </section>

      <ConfirmDialog open={removing !== null} title={`Remove ${removing ?? ''} from the group?`} confirmLabel="Remove" danger
        busy={busy === 'remove'} error={error} onConfirm={() => void remove()} onCancel={() => setRemoving(null)}>
        <p>{removing === status.id
          ? 'This is this app’s own peer: it stops once it is removed, and this window loses its connection.'
          : `${removing ?? ''} stops being a member: it no longer receives messages or votes. Its data stays on its machine.`}</p>
      </ConfirmDialog>
    </main>
  );
}
