// Reading the API from a view: the answer, the failure, and a reload; optionally polled.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, type Answer, type Read } from './api.js';

export interface Loaded<T> {
  answer?: Answer<T>;
  error?: ApiFailure;
  loading: boolean;
  reload: () => void;
}

/**
 * Calls `load` when `key` changes, on `reload()`, and every `everyMs` while the view is shown
 * (and the tab visible). A timer's call passes `load` a Read that accepts an answer up to a
 * period old (the gateway's shared cache); the others ask fresh, so an action's result shows.
 */
export function useApi<T>(load: (read: Read) => Promise<Answer<T>>, key: string, everyMs?: number): Loaded<T> {
  const [answer, setAnswer] = useState<Answer<T> | undefined>(undefined);
  const [error, setError] = useState<ApiFailure | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const polled = useRef(false);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    let live = true;
    const read: Read = polled.current && everyMs ? { maxAgeS: everyMs / 1000 } : {};
    polled.current = false;
    setLoading(true);
    loadRef.current(read).then(
      (a) => {
        if (!live) return;
        setAnswer(a);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e instanceof ApiFailure ? e : new ApiFailure(0, -1, String(e)));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [key, tick]);

  useEffect(() => {
    if (!everyMs) return;
    const t = setInterval(() => {
      if (document.visibilityState !== 'visible') return;
      polled.current = true;
      reload();
    }, everyMs);
    return () => clearInterval(t);
  }, [everyMs, reload]);

  return { answer, error, loading, reload };
}
