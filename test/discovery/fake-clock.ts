// A clock and repeating timers driven by hand: advance(ms) runs every timer that falls due, in
// time order, with the clock set to its due time. No test here waits on real time.
interface Timer {
  readonly every: number;
  next: number;
  readonly run: () => void;
}

export class FakeClock {
  private readonly timers = new Set<Timer>();

  constructor(public time = 1_000_000) {}

  readonly now = (): number => this.time;

  readonly schedule = (every: number, run: () => void): (() => void) => {
    const timer: Timer = { every, next: this.time + every, run };
    this.timers.add(timer);
    return () => void this.timers.delete(timer);
  };

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (due === undefined) break;
      this.time = due.next;
      due.next += due.every;
      due.run();
    }
    this.time = end;
  }

  get pending(): number {
    return this.timers.size;
  }
}
