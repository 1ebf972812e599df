import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { isChatApiError, type Account, type Channel, type ChatApi, type Conversation, type Message } from '../../../common/chat-api.js';
import { Outbox, OutboxSender, type OutboxItem } from '../logic/outbox.js';
import { channelKey, directKey, keyOf, parseKey, type ConversationKey } from '../logic/conversation.js';
import { friendlyError } from '../logic/errors.js';
import { readJson, writeJson, MemoryStorage, type StorageLike } from '../logic/storage.js';
import { ConversationView } from './Conversation.js';
import { safeLocalStorage, useBus, type EventBus } from './hooks.js';

export interface ChatContext {
  readonly api: ChatApi;
  readonly me: string;
  readonly bus: EventBus;
  readonly outbox: Outbox;
  readonly sender: OutboxSender;
  /** The highest appliedIndex seen (read-your-writes on reads). */
  readonly applied: { current: number };
}

export function ChatScreen({ api, me, bus, connected, lockName }: { api: ChatApi; me: string; bus: EventBus; connected: boolean; lockName: string }) {
  const storage: StorageLike = useMemo(() => safeLocalStorage() ?? new MemoryStorage(), []);
  const applied = useRef(0);
  const outbox = useMemo(() => new Outbox(storage, me), [storage, me]);
  const [items, setItems] = useState<OutboxItem[]>(() => outbox.items());
  const sender = useMemo(() => new OutboxSender({
    outbox,
    send: async (item) => {
      const result = item.target.kind === 'direct'
        ? await api.sendDirect(item.target.to, item.text, { request: item.request })
        : await api.postChannel(item.target.channel, item.text, { request: item.request });
      applied.current = Math.max(applied.current, result.appliedIndex);
      return result;
    },
    onSent: (item, result) => {
      const message: Message = {
        id: result.messageId, from: me,
        to: item.target.kind === 'direct' ? item.target.to : null,
        channel: item.target.kind === 'channel' ? item.target.channel : null,
        text: item.text, sentAt: Date.now(), unread: true,
      };
      bus.emit({ type: 'local-sent', message });
    },
  }), [outbox, api, me, bus]);
  const ctx: ChatContext = useMemo(() => ({ api, me, bus, outbox, sender, applied }), [api, me, bus, outbox, sender]);

  // Outbox items: local changes and other tabs' (storage events).
  useEffect(() => {
    const off = outbox.subscribe(() => setItems(outbox.items()));
    const onStorage = (e: StorageEvent) => {
      if (e.key === null || e.key.startsWith('qc.outbox.')) {
        setItems(outbox.items());
        sender.kick();
      }
    };
    window.addEventListener('storage', onStorage);
    return () => { off(); window.removeEventListener('storage', onStorage); };
  }, [outbox, sender]);

  // Only one tab sends a user's outbox: the one holding the lock.
  useEffect(() => {
    const abort = new AbortController();
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    if (locks) {
      locks.request(lockName, { signal: abort.signal }, () => new Promise<void>((resolve) => {
        void sender.start();
        abort.signal.addEventListener('abort', () => void sender.stop().then(resolve));
      })).catch(() => undefined);
    } else {
      void sender.start();
    }
    return () => {
      abort.abort();
      void sender.stop();
    };
  }, [sender, lockName]);
  useEffect(() => { if (connected) sender.kick(); }, [connected, sender]);

  const [selected, setSelected] = useState<ConversationKey | null>(null);
  const [conversations, setConversations] = useState<readonly Conversation[] | null>(null);
  const [convError, setConvError] = useState<string | null>(null);
  const [dmUnread, setDmUnread] = useState<Record<string, number>>({});
  const [extraPeople, setExtraPeople] = useState<string[]>([]);
  const [channels, setChannels] = useState<readonly Channel[] | null>(null);
  const [channelError, setChannelError] = useState<string | null>(null);
  const lastViewedKey = `qc.channels.${me}.lastViewed`;
  const [channelUnread, setChannelUnread] = useState<Record<string, number>>({});
  const selectedRef = useRef(selected);
  selectedRef.current = selected;

  const refreshConversations = useCallback(async () => {
    try {
      const [page, unread] = await Promise.all([
        api.conversations({ limit: 100, minIndex: applied.current }),
        api.unread({ minIndex: applied.current }),
      ]);
      setConversations(page.items);
      const counts: Record<string, number> = {};
      const viewing = document.visibilityState === 'visible' ? selectedRef.current : null;
      // The open conversation is being marked read (the count may predate that).
      for (const c of unread.conversations) if (c.with) counts[c.with] = viewing === directKey(c.with) ? 0 : c.unread;
      setDmUnread(counts);
      setConvError(null);
    } catch (err) {
      setConvError(friendlyError(err));
    }
  }, [api]);

  const refreshChannels = useCallback(async () => {
    try {
      const page = await api.channels({ limit: 200, minIndex: applied.current });
      setChannels(page.items);
      setChannelError(null);
      const lastViewed = readJson<Record<string, number>>(storage, lastViewedKey, {});
      const counts: Record<string, number> = {};
      for (const ch of page.items.filter((c) => c.joined)) {
        try {
          const h = await api.channelHistory(ch.name, { limit: 100 });
          const maxId = h.items.reduce((m, x) => Math.max(m, x.id), 0);
          const seen = lastViewed[ch.name];
          if (seen === undefined) {
            lastViewed[ch.name] = maxId;
            counts[ch.name] = 0;
          } else {
            counts[ch.name] = selectedRef.current === channelKey(ch.name) ? 0 : h.items.filter((m) => m.id > seen && m.from !== me).length;
          }
        } catch {
          // Counted next time.
        }
      }
      writeJson(storage, lastViewedKey, lastViewed);
      setChannelUnread(counts);
    } catch (err) {
      setChannelError(friendlyError(err));
    }
  }, [api, storage, lastViewedKey, me]);

  useEffect(() => {
    void refreshConversations();
    void refreshChannels();
    const t = setInterval(() => void refreshConversations(), 10000);
    return () => clearInterval(t);
  }, [refreshConversations, refreshChannels, connected]);

  // Live events: refresh the lists, count channel posts, notify.
  const refreshSoon = useRef<ReturnType<typeof setTimeout> | null>(null);
  const scheduleRefresh = useCallback(() => {
    if (refreshSoon.current) return;
    refreshSoon.current = setTimeout(() => {
      refreshSoon.current = null;
      void refreshConversations();
    }, 250);
  }, [refreshConversations]);

  const markChannelViewed = useCallback((name: string, id: number) => {
    const lastViewed = readJson<Record<string, number>>(storage, lastViewedKey, {});
    if ((lastViewed[name] ?? 0) < id) {
      lastViewed[name] = id;
      writeJson(storage, lastViewedKey, lastViewed);
    }
    setChannelUnread((c) => (c[name] ? { ...c, [name]: 0 } : c));
  }, [storage, lastViewedKey]);

  useBus(bus, (e) => {
    if (e.type === 'message' || e.type === 'local-sent') {
      applied.current = Math.max(applied.current, e.type === 'message' ? e.appliedIndex : 0);
      const m = e.message;
      if (m.channel !== null) {
        if (selectedRef.current !== channelKey(m.channel) && m.from !== me) {
          setChannelUnread((c) => ({ ...c, [m.channel as string]: (c[m.channel as string] ?? 0) + 1 }));
        }
      } else {
        scheduleRefresh();
      }
      if (e.type === 'message' && m.from !== me) notify(m, me);
    } else if (e.type === 'read' || e.type === 'deleted') {
      scheduleRefresh();
    }
  });

  // Unread total in the title.
  const total = Object.values(dmUnread).reduce((a, b) => a + b, 0) + Object.values(channelUnread).reduce((a, b) => a + b, 0);
  useEffect(() => {
    document.title = total > 0 ? `(${total}) Quorum Chat` : 'Quorum Chat';
  }, [total]);
  useEffect(() => () => { document.title = 'Quorum Chat'; }, []);

  const openPerson = (name: string) => {
    if (!conversations?.some((c) => c.with === name)) setExtraPeople((p) => (p.includes(name) ? p : [name, ...p]));
    setSelected(directKey(name));
  };

  const onViewedDirect = useCallback((name: string) => {
    setDmUnread((u) => (u[name] ? { ...u, [name]: 0 } : u));
  }, []);

  const people = useMemo(() => {
    const list = (conversations ?? []).map((c) => ({ name: c.with, last: c.lastMessage as Message | null }));
    for (const p of extraPeople) if (!list.some((c) => c.name === p)) list.unshift({ name: p, last: null });
    return list;
  }, [conversations, extraPeople]);

  return (
    <div className="chat">
      <nav className="sidebar" aria-label="Conversations">
        <NotificationPrompt />
        <section aria-labelledby="dm-title">
          <h2 id="dm-title" className="section-title">Direct messages</h2>
          {convError ? <p className="error small">{convError}</p> : null}
          {conversations === null && !convError ? <p className="muted small">Loading…</p> : null}
          {conversations !== null && people.length === 0 ? <p className="muted small">No conversations yet. Find someone below to start one.</p> : null}
          <ul className="conv-list" data-testid="conversation-list">
            {people.map((c) => {
              const name = c.name;
              const key = name === null ? null : directKey(name);
              const unread = name ? (dmUnread[name] ?? 0) : 0;
              return (
                <li key={name ?? `deleted-${c.last?.id}`}>
                  <button type="button" className={`conv-item ${key !== null && key === selected ? 'active' : ''}`}
                    data-testid="conversation-item" data-peer={name ?? ''} disabled={name === null}
                    aria-current={key !== null && key === selected ? 'true' : undefined}
                    onClick={() => name && setSelected(directKey(name))}>
                    <span className="avatar" aria-hidden="true">{(name ?? '?').slice(0, 1).toUpperCase()}</span>
                    <span className="conv-text">
                      <span className="conv-name">{name ?? 'Deleted account'}</span>
                      {c.last ? <span className="conv-last muted">{c.last.from === me ? 'You: ' : ''}{c.last.text}</span> : null}
                    </span>
                    {unread > 0 ? <span className="badge" data-testid="unread-badge" aria-label={`${unread} unread`}>{unread}</span> : null}
                  </button>
                </li>
              );
            })}
          </ul>
        </section>
        <ChannelsSection api={api} channels={channels} error={channelError} unread={channelUnread} selected={selected}
          onSelect={(name) => setSelected(channelKey(name))} onChanged={() => void refreshChannels()} />
        <PeopleSearch api={api} me={me} onOpen={openPerson} />
      </nav>
      {selected ? (
        <ConversationView key={selected} ctx={ctx} convKey={selected} items={items}
          channel={parseKey(selected).kind === 'channel' ? channels?.find((c) => channelKey(c.name) === selected) ?? null : null}
          onViewedDirect={onViewedDirect} onViewedChannel={markChannelViewed} onChannelsChanged={() => void refreshChannels()} />
      ) : (
        <main className="empty-main" id="main">
          <div>
            <h1>Hello, {me}</h1>
            <p className="muted">Pick a conversation or a channel, or find someone to write to.</p>
            {items.length > 0 ? <p className="muted">{items.filter((i) => i.state === 'pending').length} message(s) waiting in your outbox.</p> : null}
          </div>
        </main>
      )}
    </div>
  );
}

function notify(m: Message, me: string): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  if (document.hasFocus()) return;
  if (m.from === me) return;
  try {
    const title = m.channel ? `${m.from ?? 'Someone'} in #${m.channel}` : `${m.from ?? 'Someone'}`;
    const n = new Notification(title, { body: m.text.slice(0, 200), tag: keyOf(m, me) ?? undefined });
    n.onclick = () => window.focus();
  } catch {
    // Some platforms refuse notifications from pages.
  }
}

function NotificationPrompt() {
  const storage = safeLocalStorage();
  const [hidden, setHidden] = useState(() => typeof Notification === 'undefined' || Notification.permission !== 'default'
    || storage?.getItem('qc.notify.asked') === '1');
  if (hidden) return null;
  const done = () => {
    storage?.setItem('qc.notify.asked', '1');
    setHidden(true);
  };
  return (
    <div className="notice small" data-testid="notify-prompt">
      <p>Get a notification when a message arrives while Quorum Chat is in the background?</p>
      <div className="row">
        <button type="button" className="primary small-button" onClick={() => { void Notification.requestPermission().finally(done); }}>Turn on</button>
        <button type="button" className="small-button" onClick={done}>Not now</button>
      </div>
    </div>
  );
}

function ChannelsSection({ api, channels, error, unread, selected, onSelect, onChanged }: {
  api: ChatApi; channels: readonly Channel[] | null; error: string | null; unread: Record<string, number>;
  selected: ConversationKey | null; onSelect: (name: string) => void; onChanged: () => void;
}) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const [browse, setBrowse] = useState(false);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim().replace(/^#/, '');
    if (!n) return;
    setBusy(true);
    setFormError(null);
    try {
      await api.createChannel(n);
      setName('');
      onChanged();
      onSelect(n);
    } catch (err) {
      if (isChatApiError(err) && err.code === 'channel-exists') {
        // It exists (ours, if a retried create got there first, or someone else's): join it.
        try {
          await api.joinChannel(n);
        } catch (joinErr) {
          if (!isChatApiError(joinErr) || joinErr.code !== 'already-member') {
            setFormError(friendlyError(joinErr, { channel: n }));
            return;
          }
        } finally {
          setBusy(false);
        }
        setName('');
        onChanged();
        onSelect(n);
        return;
      }
      setFormError(friendlyError(err, { channel: n }));
    } finally {
      setBusy(false);
    }
  };
  const join = async (n: string) => {
    try {
      await api.joinChannel(n);
      onChanged();
      onSelect(n);
    } catch (err) {
      setFormError(friendlyError(err, { channel: n }));
    }
  };
  const joined = (channels ?? []).filter((c) => c.joined);
  const others = (channels ?? []).filter((c) => !c.joined);
  return (
    <section aria-labelledby="ch-title">
      <h2 id="ch-title" className="section-title">Channels</h2>
      {error ? <p className="error small">{error}</p> : null}
      <ul className="conv-list" data-testid="channel-list">
        {joined.map((c) => {
          const count = unread[c.name] ?? 0;
          const active = selected === channelKey(c.name);
          return (
            <li key={c.id}>
              <button type="button" className={`conv-item ${active ? 'active' : ''}`} aria-current={active ? 'true' : undefined}
                data-testid="channel-item" data-channel={c.name} onClick={() => onSelect(c.name)}>
                <span className="hash" aria-hidden="true">#</span>
                <span className="conv-text"><span className="conv-name">{c.name}</span></span>
                {count > 0 ? <span className="badge" data-testid="unread-badge" aria-label={`${count} unread`}>{count}</span> : null}
              </button>
            </li>
          );
        })}
      </ul>
      {channels !== null && joined.length === 0 ? <p className="muted small">You are in no channel yet.</p> : null}
      {others.length > 0 ? (
        <button type="button" className="link-button small" aria-expanded={browse} onClick={() => setBrowse((b) => !b)} data-testid="channel-browse">
          {browse ? 'Hide other channels' : `Browse ${others.length} other channel${others.length === 1 ? '' : 's'}`}
        </button>
      ) : null}
      {browse ? (
        <ul className="plain-list small">
          {others.map((c) => (
            <li key={c.id} className="row spread">
              <span>#{c.name} <span className="muted">({c.members})</span></span>
              <button type="button" className="small-button" onClick={() => void join(c.name)} data-testid="channel-join"
                aria-label={`Join #${c.name}`}>Join</button>
            </li>
          ))}
        </ul>
      ) : null}
      <form className="inline-form" onSubmit={create}>
        <label htmlFor="channel-create-name" className="visually-hidden">New channel name</label>
        <input id="channel-create-name" data-testid="channel-create-name" placeholder="new-channel" value={name}
          onChange={(e) => setName(e.target.value)} autoComplete="off" />
        <button type="submit" className="small-button" disabled={busy || !name.trim()} data-testid="channel-create">Create</button>
      </form>
      {formError ? <p className="error small" role="alert">{formError}</p> : null}
    </section>
  );
}

function PeopleSearch({ api, me, onOpen }: { api: ChatApi; me: string; onOpen: (name: string) => void }) {
  const [text, setText] = useState('');
  const [results, setResults] = useState<Account[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const query = useRef(0);

  const search = useCallback(async (value: string, cursor: string | null) => {
    const q = ++query.current;
    setBusy(true);
    setError(null);
    try {
      const page = await api.listAccounts(`*${value}*`, { limit: 20, ...(cursor ? { cursor } : {}) });
      if (q !== query.current) return;
      setResults((r) => (cursor && r ? [...r, ...page.items] : [...page.items]));
      setNext(page.next);
    } catch (err) {
      if (q === query.current) setError(friendlyError(err));
    } finally {
      if (q === query.current) setBusy(false);
    }
  }, [api]);

  useEffect(() => {
    const value = text.trim();
    if (!value) {
      query.current++;
      setResults(null);
      setNext(null);
      setBusy(false);
      return;
    }
    const t = setTimeout(() => void search(value, null), 250);
    return () => clearTimeout(t);
  }, [text, search]);

  return (
    <section aria-labelledby="people-title" className="people">
      <h2 id="people-title" className="section-title">People</h2>
      <form role="search" onSubmit={(e) => { e.preventDefault(); if (text.trim()) void search(text.trim(), null); }}>
        <label htmlFor="people-search" className="visually-hidden">Find people by name</label>
        <input id="people-search" type="search" data-testid="people-search" placeholder="Find people…" value={text}
          onChange={(e) => setText(e.target.value)} autoComplete="off" />
      </form>
      {error ? <p className="error small">{error}</p> : null}
      {results !== null ? (
        results.length === 0 && !busy ? <p className="muted small" data-testid="people-empty">Nobody matches “{text.trim()}”.</p> : (
          <ul className="plain-list" aria-live="polite">
            {results.map((a) => (
              <li key={a.id}>
                <button type="button" className="conv-item person" data-testid="people-result" data-username={a.username}
                  disabled={a.username === me} onClick={() => onOpen(a.username)}
                  aria-label={a.username === me ? `${a.username} (you)` : `Message ${a.username}`}>
                  <span className="avatar" aria-hidden="true">{a.username.slice(0, 1).toUpperCase()}</span>
                  <span className="conv-name">{a.username}{a.username === me ? ' (you)' : ''}</span>
                </button>
              </li>
            ))}
          </ul>
        )
      ) : null}
      {busy ? <p className="muted small">Searching…</p> : null}
      {next && !busy ? (
        <button type="button" className="link-button small" data-testid="people-more" onClick={() => void search(text.trim(), next)}>More</button>
      ) : null}
    </section>
  );
}
