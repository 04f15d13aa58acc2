/**
 * Epoch ms to within TICK_MS, read as a variable. Date.now() costs ~45 ns here, which was
 * most of a cached ACL check on every PUBLISH (test/bench/tools/acl-check-cost.ts); cache
 * entries live for a minute by default, so a 10 ms grain changes nothing one can observe.
 */
const TICK_MS = 10;

let now = Date.now();
let timer: NodeJS.Timeout | undefined;

const read = (): number => now;

/** The clock's reader; the first call starts its timer (unref'd: it never keeps a process alive). */
export function coarseClock(): () => number {
  if (timer === undefined) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
    }, TICK_MS);
    timer.unref();
  }
  return read;
}
