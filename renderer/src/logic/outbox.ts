// The outbox: every message typed is kept in storage (it survives a restart) with a RequestId
// assigned when it enters, and one sender delivers the items in order, retrying transient
// failures with the same request id, so that each message is applied exactly once.
import type { ChatApiErrorCode, RequestId, SendResult } from '../../../common/chat-api.js';
import { isChatApiError } from '../../../common/chat-api.js';
import type { StorageLike } from './storage.js';
import { readJson, writeJson } from './storage.js';

export type OutboxTarget =
  | { readonly kind: 'direct'; readonly to: string }
  | { readonly kind: 'channel'; readonly channel: string };

export interface OutboxItem {
  /** `clientId:seq`, unique. */
  readonly key: string;
  readonly request: RequestId;
  readonly target: OutboxTarget;
  readonly text: string;
  /** ms since the epoch when it entered the outbox. */
  readonly createdAt: number;
  readonly state: 'pending' | 'failed';
  readonly attempts: number;
  /** The last error (transient while pending, the reason once failed). */
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** Errors after which the same request is tried again later. */
const transientCodes: ReadonlySet<string> = new Set<ChatApiErrorCode>(['no-quorum', 'timeout', 'unavailable']);

/** Whether a send failure is worth retrying with the same request id. Non-API errors are (network). */
export function isTransient(err: unknown): boolean {
  if (!isChatApiError(err)) return true;
  return transientCodes.has(err.code);
}

export function errorInfo(err: unknown): { code: string; message: string } {
  if (isChatApiError(err)) return { code: err.code, message: err.message };
  return { code: 'unavailable', message: err instanceof Error ? err.message : String(err) };
}

/** Random client ids, 16 hex digits of crypto randomness when there is any. */
export function randomClientId(): string {
  const bytes = new Uint8Array(8);
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return 'ui-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function requestKey(request: RequestId): string {
  return `${request.clientId}:${request.seq}`;
}

export function targetKey(target: OutboxTarget): string {
  return target.kind === 'direct' ? `@${target.to}` : `#${target.channel}`;
}

interface ClientState { clientId: string; seq: number }

/**
 * One user's outbox in one storage (per peer origin). The items and the request-id counter are
 * re-read from storage on every access, so several tabs see each other's items.
 */
export class Outbox {
  private readonly itemsKey: string;
  private readonly clientKey: string;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly storage: StorageLike,
    readonly user: string,
    private readonly newClientId: () => string = randomClientId,
  ) {
    this.itemsKey = `qc.outbox.${user}.items`;
    this.clientKey = `qc.outbox.${user}.client`;
  }

  items(): OutboxItem[] {
    const items = readJson<OutboxItem[]>(this.storage, this.itemsKey, []);
    return Array.isArray(items) ? items : [];
  }

  /** Adds a message with the next request id (1, 2, 3... per persisted client id). */
  add(target: OutboxTarget, text: string, now: number): OutboxItem {
    const request = this.nextRequest(this.client());
    const item: OutboxItem = {
      key: requestKey(request), request, target, text, createdAt: now,
      state: 'pending', attempts: 0, error: null,
    };
    this.save([...this.items(), item]);
    return item;
  }

  /**
   * The group no longer knows this outbox's client id (its session expired while this outbox
   * was away, see main/chat/sessions.ts): later items go under a new one, and `key`, refused
   * on its first try and so never applied, gets the first request id of it. Returns its new key.
   */
  renew(key: string): string {
    const request = this.nextRequest({ clientId: this.newClientId(), seq: 0 });
    const renewed = requestKey(request);
    this.save(this.items().map((i) => (i.key === key ? { ...i, key: renewed, request, error: null } : i)));
    return renewed;
  }

  /** The first pending item (the sender's next), if any. */
  nextPending(): OutboxItem | undefined {
    return this.items().find((i) => i.state === 'pending');
  }

  remove(key: string): void {
    const items = this.items();
    const rest = items.filter((i) => i.key !== key);
    if (rest.length !== items.length) this.save(rest);
  }

  update(key: string, change: Partial<Pick<OutboxItem, 'state' | 'attempts' | 'error'>>): void {
    this.save(this.items().map((i) => (i.key === key ? { ...i, ...change } : i)));
  }

  markFailed(key: string, error: { code: string; message: string }): void {
    this.update(key, { state: 'failed', error });
  }

  /** Called on local changes; call notify() after changes made elsewhere (another tab). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private nextRequest(client: ClientState): RequestId {
    const seq = client.seq + 1;
    writeJson(this.storage, this.clientKey, { clientId: client.clientId, seq } satisfies ClientState);
    return { clientId: client.clientId, seq };
  }

  private client(): ClientState {
    const c = readJson<ClientState | null>(this.storage, this.clientKey, null);
    if (c && typeof c.clientId === 'string' && typeof c.seq === 'number') return c;
    const fresh = { clientId: this.newClientId(), seq: 0 };
    writeJson(this.storage, this.clientKey, fresh);
    return fresh;
  }

  private save(items: OutboxItem[]): void {
    writeJson(this.storage, this.itemsKey, items);
    this.notify();
  }
}

export interface SenderOptions {
  readonly outbox: Outbox;
  /** Sends one item with its request id; a duplicate reply counts as success. */
  send(item: OutboxItem): Promise<SendResult>;
  onSent?(item: OutboxItem, result: SendResult): void;
  onFailed?(item: OutboxItem): void;
  /** Waits; resolves early when `wake` resolves. */
  sleep?(ms: number, wake: Promise<void>): Promise<void>;
  /** Delay before the attempt after `attempts` failed ones. */
  backoff?(attempts: number): number;
  /** How long to wait idle before looking at storage again (other tabs add items). */
  idlePollMs?: number;
}

export function defaultBackoff(attempts: number): number {
  return Math.min(250 * 2 ** Math.max(0, attempts - 1), 5000);
}

function defaultSleep(ms: number, wake: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void wake.then(() => { clearTimeout(timer); resolve(); });
  });
}

/** Delivers an outbox's pending items one at a time, in order, until stopped. */
export class OutboxSender {
  private running = false;
  private stopped = false;
  private wakeResolve: (() => void) | null = null;
  private wakePromise: Promise<void>;
  private done: Promise<void> | null = null;

  constructor(private readonly options: SenderOptions) {
    this.wakePromise = this.newWake();
  }

  /** Starts the loop (once); resolves when stopped. */
  start(): Promise<void> {
    this.stopped = false;
    if (!this.running) {
      this.running = true;
      this.done = this.loop().finally(() => { this.running = false; });
    }
    return this.done ?? Promise.resolve();
  }

  /** Look again now: a new item, or the connection came back. */
  kick(): void {
    const resolve = this.wakeResolve;
    this.wakePromise = this.newWake();
    resolve?.();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    return this.done ?? Promise.resolve();
  }

  /** Sends the next pending item once; returns false when there was none. Exposed for tests. */
  async step(): Promise<'idle' | 'sent' | 'retry' | 'failed'> {
    const { outbox } = this.options;
    const item = outbox.nextPending();
    if (!item) return 'idle';
    try {
      const result = await this.options.send(item);
      outbox.remove(item.key);
      this.options.onSent?.(item, result);
      return 'sent';
    } catch (err) {
      const error = errorInfo(err);
      if (error.code === 'request-expired' && item.attempts === 0) {
        outbox.renew(item.key); // its first try: certainly not applied, so it may go again
        return 'retry';
      }
      if (isTransient(err)) {
        outbox.update(item.key, { attempts: item.attempts + 1, error });
        return 'retry';
      }
      outbox.markFailed(item.key, error);
      this.options.onFailed?.({ ...item, state: 'failed', error });
      return 'failed';
    }
  }

  private async loop(): Promise<void> {
    const sleep = this.options.sleep ?? defaultSleep;
    const backoff = this.options.backoff ?? defaultBackoff;
    while (!this.stopped) {
      const wake = this.wakePromise;
      const outcome = await this.step();
      if (this.stopped) break;
      if (outcome === 'idle') await sleep(this.options.idlePollMs ?? 1000, wake);
      else if (outcome === 'retry') {
        const attempts = this.options.outbox.nextPending()?.attempts ?? 1;
        await sleep(backoff(attempts), wake);
      }
    }
  }

  private newWake(): Promise<void> {
    return new Promise<void>((resolve) => { this.wakeResolve = resolve; });
  }
}
