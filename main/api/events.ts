// Live events, derived from what this peer applies: every replica applies every command, so
// a user subscribed on any peer hears about a message sent through any other. Routing reads the
// command and its result (who sent, to whom, which senders were read, where deleted messages
// were) and the local replica (names, channel membership) right after the batch is applied.
import type { ChatEvent, ChatEventListener, ChatEventMap, Unsubscribe } from '../../common/chat-api.js';
import type { CommandOf, CommandValues } from '../chat/commands.js';
import type { AppliedCommand } from '../chat/machine.js';
import type { Logger } from '../log/logger.js';
import type { AppliedBatch, Peer } from '../peer/peer.js';
import { EntryType } from '../raft/types.js';
import { messagesOf } from './views.js';

/** Who a subscription listens for: an account (and the session it came with), or nobody. */
export interface Audience {
  readonly account: number | null;
  readonly tokenHash: string | null;
}

interface Subscriber extends Audience {
  readonly listener: ChatEventListener;
}

type Ended = ChatEventMap['ended']['reason'];

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private lastGroup = '';
  private closed = false;

  constructor(private readonly peer: Peer, private readonly log: Logger) {
    peer.on('applied', this.onApplied);
    peer.on('leader', this.onLeader);
  }

  /** Live subscriptions (tests check that cancelled streams leave none behind). */
  get size(): number {
    return this.subscribers.size;
  }

  /** Subscribes; the current group state is delivered at once, before this returns. */
  subscribe(audience: Audience, listener: ChatEventListener): Unsubscribe {
    const subscriber: Subscriber = { ...audience, listener };
    if (this.closed) {
      this.deliver(subscriber, { type: 'ended', appliedIndex: this.peer.appliedIndex, reason: 'peer-stopping' });
      return () => undefined;
    }
    this.subscribers.add(subscriber);
    this.deliver(subscriber, { type: 'group', appliedIndex: this.peer.appliedIndex, ...this.group() });
    return () => void this.subscribers.delete(subscriber);
  }

  close(): void {
    this.closed = true;
    this.peer.off('applied', this.onApplied);
    this.peer.off('leader', this.onLeader);
    this.end(() => true, 'peer-stopping');
  }

  // Both run inside the peer's Ready loop: they must never throw into it.
  private readonly onApplied = (batch: AppliedBatch): void => {
    try {
      if (this.subscribers.size > 0) for (const applied of batch.results) this.route(applied);
      // A membership change takes effect once the core has seen it applied (after this turn).
      if (batch.entries.some((e) => e.type === EntryType.ConfChange)) setImmediate(() => this.groupMayHaveChanged());
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not route live events');
    }
  };

  private readonly onLeader = (): void => this.groupMayHaveChanged();

  private route(applied: AppliedCommand): void {
    const { command, result, index } = applied;
    if (command === null || applied.duplicate || !result.ok) return;
    const value = result.value;
    switch (command.t) {
      case 'sendDirect':
      case 'postChannel':
        return this.newMessage(command, value as CommandValues['sendDirect'], index);
      case 'markRead':
        return this.readReceipts(command, value as CommandValues['markRead'], index);
      case 'deleteMessages':
        return this.deleted(command.actor, value as CommandValues['deleteMessages'], index);
      case 'logout':
        return this.end((s) => s.tokenHash === command.tokenHash, 'logged-out', index);
      case 'deleteAccount':
        return this.end((s) => s.account === command.account, 'account-deleted', index);
    }
  }

  private newMessage(command: CommandOf<'sendDirect'> | CommandOf<'postChannel'>, value: { messageId: number }, index: number): void {
    const q = this.peer.queries;
    const direct = command.t === 'sendDirect';
    const [message] = messagesOf(q, [{
      id: value.messageId, senderId: command.actor, senderName: q.account(command.actor)?.username ?? null,
      recipientId: direct ? command.to : null, channelId: direct ? null : command.channel,
      text: command.text, sentAt: command.at, unread: direct,
    }]);
    if (message === undefined) return;
    const concerned = direct
      ? (a: number) => a === command.actor || a === command.to
      : (a: number) => a === command.actor || q.isMember(command.channel, a);
    this.toAccounts(concerned, () => ({ type: 'message', appliedIndex: index, message }));
  }

  private readReceipts(command: CommandOf<'markRead'>, value: CommandValues['markRead'], index: number): void {
    if (value.senders.length === 0) return;
    const by = this.peer.queries.account(command.actor)?.username;
    if (by === undefined) return;
    const senders = new Set(value.senders);
    this.toAccounts((a) => senders.has(a), () => ({ type: 'read', appliedIndex: index, by, upTo: command.upTo }));
  }

  /** The sender hears of all; each recipient of their own; channel members of the channel's. */
  private deleted(actor: number, value: CommandValues['deleteMessages'], index: number): void {
    const q = this.peer.queries;
    const all = [...value.direct, ...value.posts].flatMap((g) => g.ids);
    const visibleTo = (a: number): number[] => (a === actor ? all : [
      ...value.direct.filter((g) => g.to === a).flatMap((g) => g.ids),
      ...value.posts.filter((g) => q.isMember(g.channel, a)).flatMap((g) => g.ids),
    ]);
    for (const s of this.subscribers) {
      if (s.account === null) continue;
      const ids = visibleTo(s.account);
      if (ids.length > 0) this.deliver(s, { type: 'deleted', appliedIndex: index, ids });
    }
  }

  private toAccounts(concerned: (account: number) => boolean, event: () => ChatEvent): void {
    let built: ChatEvent | null = null;
    for (const s of this.subscribers) {
      if (s.account !== null && concerned(s.account)) this.deliver(s, (built ??= event()));
    }
  }

  /** Tells the subscribers that match that their subscription is over, and drops them. */
  private end(match: (s: Subscriber) => boolean, reason: Ended, index = this.peer.appliedIndex): void {
    for (const s of [...this.subscribers]) {
      if (!match(s)) continue;
      this.subscribers.delete(s);
      this.deliver(s, { type: 'ended', appliedIndex: index, reason });
    }
  }

  private groupMayHaveChanged(): void {
    const group = this.group();
    const key = JSON.stringify(group);
    if (key === this.lastGroup) return;
    this.lastGroup = key;
    const event: ChatEvent = { type: 'group', appliedIndex: this.peer.appliedIndex, ...group };
    for (const s of this.subscribers) this.deliver(s, event);
  }

  private group(): ChatEventMap['group'] {
    const s = this.peer.status();
    return { leader: s.leader, term: s.term, voters: [...s.conf.voters], learners: [...s.conf.learners] };
  }

  /** One listener's failure is its own (logged), never the peer's nor the other listeners'. */
  private deliver(s: Subscriber, event: ChatEvent): void {
    try {
      s.listener(event);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, event: event.type }, 'an event listener failed');
    }
  }
}
