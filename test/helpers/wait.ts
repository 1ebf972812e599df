// Condition-based waiting for tests: poll a condition until it holds or a deadline passes.
// (A fixed sleep would stand in for synchronisation; this returns as soon as the state is right.)

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What the condition looks at, reported on timeout (a failure then says what was seen instead). */
  observe?: () => unknown;
}

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 10, observe }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError === null ? '' : ` (last error: ${(lastError as Error).message})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${await observed(observe)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function observed(observe: (() => unknown) | undefined): Promise<string> {
  if (observe === undefined) return '';
  try {
    return `; seen instead: ${JSON.stringify(await observe())}`;
  } catch (err) {
    return `; could not observe: ${(err as Error).message}`;
  }
}
