import { useEffect, useRef, useState } from 'react';
import type { ChatApi, ChatEvent, Message, PeerStatus } from '../../../common/chat-api.js';
import type { BridgeLink } from '../../../common/bridge.js';
import { isReconnecting } from '../bridge/remote-chat-api.js';

/** Whether the link to the peer is up (always true for the preload link). */
export function useConnected(link: BridgeLink): boolean {
  const [connected, setConnected] = useState(() => (isReconnecting(link) ? link.connected : true));
  useEffect(() => {
    if (!isReconnecting(link)) return;
    setConnected(link.connected);
    return link.onConnection(setConnected);
  }, [link]);
  return connected;
}

/** status() every `intervalMs` (no overlapping calls); null until the first answer. */
export function usePeerStatus(api: ChatApi, connected: boolean, intervalMs = 1000): { status: PeerStatus | null; error: string | null; at: number } {
  const [state, setState] = useState<{ status: PeerStatus | null; error: string | null; at: number }>({ status: null, error: null, at: 0 });
  useEffect(() => {
    if (!connected) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const poll = async () => {
      try {
        const status = await api.status();
        if (!stopped) setState({ status, error: null, at: Date.now() });
      } catch (err) {
        if (!stopped) setState((s) => ({ ...s, error: err instanceof Error ? err.message : String(err), at: Date.now() }));
      }
      if (!stopped) timer = setTimeout(() => void poll(), intervalMs);
    };
    void poll();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [api, connected, intervalMs]);
  return state;
}

/** A tiny event bus for chat events and local happenings (a message sent from the outbox). */
export type BusEvent = ChatEvent | { readonly type: 'local-sent'; readonly message: Message };

export class EventBus {
  private readonly listeners = new Set<(e: BusEvent) => void>();
  on(listener: (e: BusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(event: BusEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        console.error(err);
      }
    }
  }
}

export function useBus(bus: EventBus, listener: (e: BusEvent) => void): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => bus.on((e) => ref.current(e)), [bus]);
}

/** The current time, re-rendered every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
