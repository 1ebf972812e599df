// A steady stream of direct messages over one SendStream, with a fixed number in flight. Every
// message has a unique text, so a replica's copies of it can be counted. A send that fails is
// retried with the same request id (by unary call, in case the stream itself broke), as a
// well-behaved client does: the group must still store it exactly once.
import { setTimeout as delay } from 'node:timers/promises';
import type { ChatClient, RequestId, SendStream } from '../../main/cli/chat-client.js';
import { waitFor } from '../helpers/wait.js';

export interface PumpOptions {
  readonly to: string;
  readonly clientId: string;
  /** Sends in flight at once (keep ≤ 64: a client session remembers its last 128 results). */
  readonly inFlight?: number;
  /** Stop after this many sends (default: until stop()). */
  readonly total?: number;
}

/** Pause between retries of a failed send: a client backs off, it does not spin. */
const retryBackoffMs = 50;
/** A send still failing after this long is given up (and is not counted as acknowledged). */
const giveUpMs = 30_000;

export class SendPump {
  /** Texts of the sends the group acknowledged, in acknowledgement order. */
  readonly acked: string[] = [];
  readonly errors: string[] = [];
  private seq = 0;
  private stopping = false;
  private abandoned = false;
  private readonly stream: SendStream;
  private readonly lanes: Promise<void>[];

  constructor(private readonly client: ChatClient, private readonly options: PumpOptions) {
    this.stream = client.sendStream();
    const lanes = Math.min(options.inFlight ?? 32, options.total ?? Infinity);
    this.lanes = Array.from({ length: lanes }, () => this.lane());
  }

  /** Resolves once `n` sends in all were acknowledged. */
  async waitAcked(n: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.acked.length >= n,
      `${n} acknowledged sends (have ${this.acked.length}; last errors: ${this.errors.slice(-3).join(' | ')})`,
      { timeoutMs, intervalMs: 20 });
  }

  /** Issues no new sends and waits for those in flight. */
  stop(): Promise<void> {
    this.stopping = true;
    return this.finished();
  }

  /**
   * Ends the pump now, retries included, and waits for its lanes: for a test that failed halfway
   * (left running, its retries would keep the test process alive after the group has gone).
   */
  async abandon(): Promise<void> {
    this.stopping = true;
    this.abandoned = true;
    this.stream.close();
    await Promise.all(this.lanes);
  }

  /** Waits until every send is acknowledged or given up (all `total` of them, or up to stop()). */
  async finished(): Promise<void> {
    await Promise.all(this.lanes);
    this.stream.close();
  }

  /** One send at a time until stopped: the pump runs `inFlight` lanes side by side. */
  private async lane(): Promise<void> {
    while (!this.stopping && this.seq < (this.options.total ?? Infinity)) {
      const seq = ++this.seq;
      const text = `${this.options.clientId} #${seq}`;
      if (await this.deliver({ clientId: this.options.clientId, seq }, text)) this.acked.push(text);
    }
  }

  private async deliver(request: RequestId, text: string): Promise<boolean> {
    try {
      await this.stream.send(request, this.options.to, text);
      return true;
    } catch (err) {
      this.errors.push((err as Error).message);
    }
    const deadline = Date.now() + giveUpMs;
    while (!this.abandoned && Date.now() < deadline) {
      await delay(retryBackoffMs);
      try {
        await this.client.send(request, this.options.to, text);
        return true;
      } catch (err) {
        this.errors.push((err as Error).message);
      }
    }
    return false;
  }
}
