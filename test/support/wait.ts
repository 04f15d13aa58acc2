/** Waiting in tests: a plain pause, and polling until a condition holds (instead of a fixed sleep). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns without throwing; rethrows its last error after timeoutMs. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(everyMs);
    }
  }
}
