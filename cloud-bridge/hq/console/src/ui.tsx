import { useEffect, useState, type ReactNode } from 'react';
import { ApiError } from './api.js';
import { useI18n } from './i18n.js';

// Small pieces every page uses: the hash route, errors shown politely, a scrolling table.

export interface Route {
  /** `payments`, `payments/pay_1`, `audit` … (no leading `#/`). */
  path: string;
  parts: string[];
  query: URLSearchParams;
}

function readRoute(): Route {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [path = '', q = ''] = raw.split('?');
  return { path, parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const on = () => setRoute(readRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(path: string, query?: Record<string, string>): void {
  const q = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '')).toString() : '';
  window.location.hash = `#/${path}${q ? `?${q}` : ''}`;
}

/** An error from the server, in words: a route the bridge does not have yet says so plainly. */
export function ErrorNote({ error }: { error: unknown }) {
  const { t, errorTitle } = useI18n();
  if (!error) return null;
  if (error instanceof ApiError) {
    const missing = error.status === 404 && /^No route /.test(error.message);
    return (
      <p className="error" role="alert" data-code={error.code}>
        <strong>{missing ? t('notAvailable') : errorTitle(error.code)}</strong>
        {missing ? ` (${error.message.replace(/^No route /, '')})` : error.message ? ` — ${error.message}` : ''}
      </p>
    );
  }
  return (
    <p className="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

export function TableBox({ children }: { children: ReactNode }) {
  return <div className="table-box">{children}</div>;
}

export function Field({ label, children, wide }: { label: string; children: ReactNode; wide?: boolean }) {
  return (
    <label className={wide ? 'field wide' : 'field'}>
      <span>{label}</span>
      {children}
    </label>
  );
}

/** Runs `load` when `deps` change; gives its data, its error and whether it is running. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [T | undefined, unknown, boolean, () => void] {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setBusy(true);
    setError(undefined);
    load().then(
      (d) => {
        if (!live) return;
        setData(d);
        setBusy(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e);
        setBusy(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return [data, error, busy, () => setTick((n) => n + 1)];
}
