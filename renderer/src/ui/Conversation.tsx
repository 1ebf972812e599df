import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState, type KeyboardEvent } from 'react';
import type { Channel } from '../../../common/chat-api.js';
import { belongsTo, conversationReducer, emptyConversation, parseKey, viewMessages, type ConversationKey, type ViewMessage } from '../logic/conversation.js';
import type { OutboxItem } from '../logic/outbox.js';
import { friendlyError } from '../logic/errors.js';
import { clockTime, dateTime } from '../logic/format.js';
import type { ChatContext } from './Chat.js';
import { useBus } from './hooks.js';

const pageSize = 50;

export function ConversationView({ ctx, convKey, items, channel, onViewedDirect, onViewedChannel, onChannelsChanged }: {
  ctx: ChatContext; convKey: ConversationKey; items: readonly OutboxItem[]; channel: Channel | null;
  onViewedDirect: (name: string) => void; onViewedChannel: (name: string, id: number) => void; onChannelsChanged: () => void;
}) {
  const { api, me, bus, outbox, sender, applied } = ctx;
  const target = useMemo(() => parseKey(convKey), [convKey]);
  const title = target.kind === 'direct' ? target.to : `#${target.channel}`;
  const [state, dispatch] = useReducer(conversationReducer, emptyConversation);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [text, setText] = useState('');
  const [selectMode, setSelectMode] = useState(false);
  const [selection, setSelection] = useState<ReadonlySet<number>>(new Set());
  const [actionError, setActionError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  const listRef = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);
  const restoreFrom = useRef<number | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);

  const load = useCallback(async (cursor: string | null) => {
    const options = { limit: pageSize, minIndex: applied.current, ...(cursor ? { cursor } : {}) };
    return target.kind === 'direct' ? api.history(target.to, options) : api.channelHistory(target.channel, options);
  }, [api, target, applied]);

  const markRead = useCallback(() => {
    if (target.kind !== 'direct') return;
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return;
    onViewedDirect(target.to);
    api.markRead({ with: target.to }).then((r) => { applied.current = Math.max(applied.current, r.appliedIndex); }, () => undefined);
  }, [api, target, onViewedDirect, applied]);

  // First page, then mark read.
  useEffect(() => {
    let stopped = false;
    dispatch({ type: 'reset' });
    setLoadError(null);
    load(null).then((page) => {
      if (stopped) return;
      dispatch({ type: 'page', page, older: false });
      stickToBottom.current = true;
      markRead();
    }, (err: unknown) => {
      if (!stopped) setLoadError(friendlyError(err, target.kind === 'channel' ? { channel: target.channel } : { to: target.to }));
    });
    return () => { stopped = true; };
  }, [load, markRead, target, channel?.joined]);

  // Channel: remember the newest post seen while viewing.
  const newestId = state.messages.length > 0 ? state.messages[state.messages.length - 1]?.id ?? 0 : 0;
  useEffect(() => {
    if (target.kind === 'channel' && newestId > 0) onViewedChannel(target.channel, newestId);
  }, [target, newestId, onViewedChannel]);

  useBus(bus, (e) => {
    if (e.type === 'message' || e.type === 'local-sent') {
      if (!belongsTo(e.message, convKey, me)) return;
      dispatch({ type: 'message', message: e.message });
      if (e.message.from !== me) markRead();
    } else if (e.type === 'read') {
      if (target.kind === 'direct' && e.by === target.to) dispatch({ type: 'read', upTo: e.upTo });
    } else if (e.type === 'deleted') {
      dispatch({ type: 'deleted', ids: e.ids });
      setSelection((s) => {
        if (!e.ids.some((id) => s.has(id))) return s;
        const n = new Set(s);
        for (const id of e.ids) n.delete(id);
        return n;
      });
    }
  });
  useEffect(() => {
    const onFocus = () => markRead();
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, [markRead]);

  const view = useMemo(() => viewMessages(state, items, convKey, me), [state, items, convKey, me]);

  // Scrolling: stay at the bottom for new messages; keep the position when older ones load.
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    if (restoreFrom.current !== null) {
      el.scrollTop = el.scrollHeight - restoreFrom.current;
      restoreFrom.current = null;
    } else if (stickToBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [view]);

  const loadOlder = useCallback(async () => {
    if (!state.older || loadingOlder) return;
    const el = listRef.current;
    setLoadingOlder(true);
    try {
      const page = await load(state.older);
      if (el) restoreFrom.current = el.scrollHeight - el.scrollTop;
      dispatch({ type: 'page', page, older: true });
    } catch (err) {
      setLoadError(friendlyError(err));
    } finally {
      setLoadingOlder(false);
    }
  }, [state.older, loadingOlder, load]);

  const onScroll = () => {
    const el = listRef.current;
    if (!el) return;
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 60) void loadOlder();
  };

  const send = () => {
    const value = text.trim();
    if (!value) return;
    outbox.add(target, value, Date.now());
    sender.kick();
    setText('');
    stickToBottom.current = true;
    inputRef.current?.focus();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const toggle = (id: number) => setSelection((s) => {
    const n = new Set(s);
    if (n.has(id)) n.delete(id);
    else n.add(id);
    return n;
  });
  const deleteSelected = async () => {
    const ids = [...selection];
    if (ids.length === 0) return;
    setDeleting(true);
    setActionError(null);
    try {
      const r = await api.deleteMessages(ids);
      applied.current = Math.max(applied.current, r.appliedIndex);
      dispatch({ type: 'deleted', ids });
      setSelection(new Set());
      setSelectMode(false);
    } catch (err) {
      setActionError(friendlyError(err));
    } finally {
      setDeleting(false);
    }
  };

  const channelAction = (run: (channel: string) => Promise<unknown>) => async () => {
    if (target.kind !== 'channel') return;
    try {
      await run(target.channel);
      onChannelsChanged();
    } catch (err) {
      setActionError(friendlyError(err, { channel: target.channel }));
    }
  };
  const joinChannel = channelAction((channel) => api.joinChannel(channel));
  const leaveChannel = channelAction((channel) => api.leaveChannel(channel));

  const notMember = target.kind === 'channel' && channel !== null && !channel.joined;
  const ownDeletable = view.some((m) => m.own && m.id !== null);

  return (
    <main className="conversation" id="main" aria-labelledby="conv-title">
      <header className="conv-header">
        <h1 id="conv-title" data-testid="conversation-title">{title}</h1>
        <div className="row">
          {target.kind === 'channel' && channel?.joined ? (
            <button type="button" className="small-button" onClick={() => void leaveChannel()} data-testid="channel-leave">Leave channel</button>
          ) : null}
          {selectMode ? (
            <>
              <span className="muted small" aria-live="polite">{selection.size} selected</span>
              <button type="button" className="danger small-button" disabled={selection.size === 0 || deleting}
                onClick={() => void deleteSelected()} data-testid="delete-selected">
                {deleting ? 'Deleting…' : `Delete${selection.size > 0 ? ` (${selection.size})` : ''}`}
              </button>
            </>
          ) : null}
          <button type="button" className="small-button" aria-pressed={selectMode} disabled={!ownDeletable && !selectMode}
            onClick={() => { setSelectMode((m) => !m); setSelection(new Set()); }} data-testid="select-toggle">
            {selectMode ? 'Cancel' : 'Select'}
          </button>
        </div>
      </header>
      {actionError ? <p className="error banner" role="alert">{actionError}</p> : null}
      <ol className="messages" ref={listRef} onScroll={onScroll} role="log" aria-live="polite" aria-label={`Messages with ${title}`}
        data-testid="message-list" tabIndex={0}>
        {state.older ? (
          <li className="older">
            <button type="button" className="link-button small" onClick={() => void loadOlder()} disabled={loadingOlder} data-testid="load-older">
              {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
            </button>
          </li>
        ) : state.loaded && view.length > 0 ? <li className="older muted small">This is the beginning of the conversation.</li> : null}
        {!state.loaded && !loadError ? <li className="muted centered-row">Loading messages…</li> : null}
        {loadError ? <li className="error centered-row" role="alert">{loadError}</li> : null}
        {state.loaded && view.length === 0 ? (
          <li className="muted centered-row" data-testid="conversation-empty">
            {target.kind === 'direct' ? `No messages with ${target.to} yet. Say hello!` : `No posts in ${title} yet.`}
          </li>
        ) : null}
        {view.map((m) => (
          <MessageRow key={m.key} m={m} selectMode={selectMode} selected={m.id !== null && selection.has(m.id)} onToggle={toggle}
            showFrom={target.kind === 'channel'} onDiscard={(key) => outbox.remove(key)}
            onRetry={(item) => { outbox.remove(item.key); outbox.add(item.target, item.text, Date.now()); sender.kick(); }} />
        ))}
      </ol>
      {notMember ? (
        <div className="composer">
          <p className="muted">You are not a member of {title}.</p>
          <button type="button" className="primary" onClick={() => void joinChannel()} data-testid="channel-join-here">Join {title}</button>
        </div>
      ) : (
        <form className="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
          <label htmlFor="composer-input" className="visually-hidden">Message to {title}</label>
          <textarea id="composer-input" ref={inputRef} data-testid="composer-input" rows={1} value={text} placeholder={`Message ${title}`}
            onChange={(e) => setText(e.target.value)} onKeyDown={onKeyDown} autoFocus />
          <button type="submit" className="primary" data-testid="composer-send" disabled={!text.trim()}>Send</button>
        </form>
      )}
    </main>
  );
}

const stateLabel: Record<ViewMessage['state'], string> = {
  pending: 'Pending', sent: 'Sent', read: 'Read', failed: 'Not sent', received: '',
};

function MessageRow({ m, selectMode, selected, onToggle, showFrom, onDiscard, onRetry }: {
  m: ViewMessage; selectMode: boolean; selected: boolean; onToggle: (id: number) => void; showFrom: boolean;
  onDiscard: (key: string) => void; onRetry: (item: OutboxItem) => void;
}) {
  const selectable = selectMode && m.own && m.id !== null;
  const id = m.id;
  return (
    <li className={`message ${m.own ? 'own' : 'theirs'} state-${m.state} ${selected ? 'selected' : ''}`} data-testid="message"
      data-message-id={id ?? ''} data-request={m.item ? m.item.key : undefined} data-state={m.state === 'received' ? 'sent' : m.state}
      data-own={m.own ? 'true' : 'false'}
      onClick={selectable && id !== null ? (e) => { if ((e.target as HTMLElement).tagName !== 'INPUT') onToggle(id); } : undefined}>
      {selectable && id !== null ? (
        <input type="checkbox" className="select-box" checked={selected} onChange={() => onToggle(id)}
          aria-label={`Select message “${m.text.slice(0, 40)}”`} data-testid="message-select" />
      ) : null}
      <div className="bubble">
        {showFrom && !m.own ? <div className="from">{m.from ?? 'Deleted account'}</div> : null}
        {!showFrom && !m.own && m.from === null ? <div className="from">Deleted account</div> : null}
        <div className="text">{m.text}</div>
        <div className="meta">
          <time dateTime={new Date(m.sentAt).toISOString()} title={dateTime(m.sentAt)}>{clockTime(m.sentAt)}</time>
          {m.own ? <span className="state" data-testid="message-state">{stateLabel[m.state]}</span> : null}
        </div>
        {m.state === 'failed' && m.item ? (
          <div className="failed-reason">
            <span className="error small">{m.item.error ? friendlyError(m.item.error, m.item.target.kind === 'direct' ? { to: m.item.target.to } : { channel: m.item.target.channel }) : 'Not sent'}</span>
            <button type="button" className="small-button" onClick={() => onRetry(m.item!)} data-testid="outbox-retry">Retry</button>
            <button type="button" className="small-button" onClick={() => onDiscard(m.item!.key)} data-testid="outbox-discard">Discard</button>
          </div>
        ) : null}
        {m.state === 'pending' && m.item?.error ? <div className="muted small" data-testid="pending-reason">{waitingText(m.item.error.code)}</div> : null}
      </div>
    </li>
  );
}

function waitingText(code: string): string {
  if (code === 'no-quorum') return 'Waiting for the group to be back; it will be sent automatically';
  if (code === 'unavailable') return 'Waiting for your peer; it will be sent automatically';
  return 'Retrying…';
}
