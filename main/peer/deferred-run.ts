// Work worth batching: run() once `delayMs` after the first note(), or at once when the noted
// amount reaches `limit` or a note is urgent. The peer uses it for the lazy apply, the delayed
// chat.db commit and a leader's deferred commit notices.
export class DeferredRun {
  private timer: NodeJS.Timeout | null = null;
  private noted = 0;

  constructor(private readonly delayMs: number, private readonly limit: number, private readonly run: () => void) {}

  note(amount: number, urgent = false): void {
    this.noted += amount;
    if (urgent || this.noted >= this.limit) this.now();
    else this.timer ??= setTimeout(() => this.now(), this.delayMs);
  }

  /** Like note(), but the wait starts again from now: run once nothing was noted for `delayMs`. */
  postpone(amount: number): void {
    this.noted += amount;
    if (this.timer === null) this.timer = setTimeout(() => this.now(), this.delayMs);
    else this.timer.refresh();
  }

  /** Runs at once (if anything was noted) instead of waiting. */
  now(): void {
    const due = this.noted > 0;
    this.cancel();
    if (due) this.run();
  }

  /** Forgets what was noted without running. */
  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.noted = 0;
  }
}
