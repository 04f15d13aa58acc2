// Reading the API from a view: the answer, the failure, and a reload; optionally polled.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, type Answer } from './api.js';

export interface Loaded<T> {
  answer?: Answer<T>;
  error?: ApiFailure;
  loading: boolean;
  reload: () => void;
}

/** Calls `load` when `key` changes, and every `everyMs` while the view is shown (and the tab visible). */
export function useApi<T>(load: () => Promise<Answer<T>>, key: string, everyMs?: number): Loaded<T> {
  const [answer, setAnswer] = useState<Answer<T> | undefined>(undefined);
  const [error, setError] = useState<ApiFailure | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    let live = true;
    setLoading(true);
    loadRef.current().then(
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
      if (document.visibilityState === 'visible') reload();
    }, everyMs);
    return () => clearInterval(t);
  }, [everyMs, reload]);

  return { answer, error, loading, reload };
}
