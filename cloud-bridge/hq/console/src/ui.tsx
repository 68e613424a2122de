import { useEffect, useState, type HTMLAttributes, type ReactNode } from 'react';
import { ApiError } from './api.js';
import { useI18n, type Key } from './i18n.js';

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

/** A list row that opens its page, by a click or by Enter once focused (Tab reaches it). */
export function opensOnClick(open: () => void): HTMLAttributes<HTMLTableRowElement> {
  return {
    tabIndex: 0,
    onClick: open,
    onKeyDown: (e) => {
      if (e.key === 'Enter') open();
    },
  };
}

/** One column of a ListTable: its header, how a row's cell reads, and its look. */
export interface Column<T> {
  /** The header's text key (also the column's React key), or '' for a header-less column. */
  key: Key | '';
  /** A header that is not one key's text (two keys joined, a literal like URL). */
  head?: ReactNode;
  cell(row: T): ReactNode;
  /** Right-aligned figures: header and cells. */
  num?: boolean;
  /** The cells' class (`nowrap`, `mono`, `ellipsis` …). */
  className?: string;
  /** A cell's title (a tooltip with the whole of a cut-off value). */
  title?(row: T): string | undefined;
}

/**
 * The console's lists: a scrolling `table.list` of `columns` over `rows`. `rowProps` gives a
 * row's attributes (data-testid, data-*, class, onClick); `empty` is the note shown under the
 * table when there are no rows (none when undefined), or instead of the table with `emptyOnly`.
 */
export function ListTable<T>({
  columns,
  rows,
  rowKey,
  rowProps,
  testid,
  empty,
  emptyOnly,
}: {
  columns: ReadonlyArray<Column<T>>;
  rows: readonly T[];
  rowKey(row: T, index: number): string | number;
  rowProps?(row: T): HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string | undefined>;
  testid?: string;
  empty?: ReactNode;
  emptyOnly?: boolean;
}) {
  const { t } = useI18n();
  const note = rows.length === 0 && empty !== undefined ? <p className="empty">{empty}</p> : null;
  if (note && emptyOnly) return note;
  return (
    <div className="table-box">
      <table className="list" data-testid={testid}>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={c.key || i} className={c.num ? 'num' : undefined}>
                {c.head ?? (c.key ? t(c.key) : null)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, n) => (
            <tr key={rowKey(r, n)} {...rowProps?.(r)}>
              {columns.map((c, i) => (
                <td
                  key={c.key || i}
                  className={[c.num ? 'num' : '', c.className ?? ''].filter(Boolean).join(' ') || undefined}
                  title={c.title?.(r)}
                >
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {note}
    </div>
  );
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
