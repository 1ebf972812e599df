// Promises keyed by an id, each with its own deadline: the peer resolves them when the matching
// entry is applied (or a read index arrives) and rejects them when the deadline passes first.

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Waiters<T> {
  private readonly byKey = new Map<string, Waiter<T>[]>();

  /** Waits for `key`; after `timeoutMs` rejects with `onTimeout()`. Several may wait on one key. */
  wait(key: string, timeoutMs: number, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve, reject,
        timer: setTimeout(() => {
          this.remove(key, waiter);
          reject(onTimeout());
        }, timeoutMs),
      };
      const list = this.byKey.get(key);
      if (list === undefined) this.byKey.set(key, [waiter]);
      else list.push(waiter);
    });
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  resolve(key: string, value: T): void {
    const list = this.byKey.get(key);
    if (list === undefined) return;
    this.byKey.delete(key);
    for (const w of list) {
      clearTimeout(w.timer);
      w.resolve(value);
    }
  }

  failAll(error: () => Error): void {
    for (const list of this.byKey.values()) {
      for (const w of list) {
        clearTimeout(w.timer);
        w.reject(error());
      }
    }
    this.byKey.clear();
  }

  private remove(key: string, waiter: Waiter<T>): void {
    const list = this.byKey.get(key);
    if (list === undefined) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) this.byKey.delete(key);
    else this.byKey.set(key, rest);
  }
}
