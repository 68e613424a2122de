import { useEffect, useState, type FormEvent } from 'react';
import { api, isHqRole, type Me, type PaymentPage, type StoreInfo } from '../api.js';
import { useI18n } from '../i18n.js';
import { formatMinor, formatMoney, parseMinor } from '../money.js';
import { ErrorNote, Field, go, ListTable } from '../ui.js';

// Every payment in the user's scope, newest first. The filter lives in the address
// (#/payments?q=…&status=…), so Back from a payment returns to the same list, and the export
// links carry exactly the filter on screen.

const FILTER_KEYS = [
  'q',
  'from',
  'to',
  'store',
  'counter',
  'channel',
  'mode',
  'status',
  'min',
  'max',
  'flagged',
  'merchant',
] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
type Filter = Partial<Record<FilterKey, string>>;

const CHANNELS = ['wechat', 'alipay', 'bank'];
const MODES = ['micropay', 'native', 'jsapi', 'h5', 'wap', 'spot', 'bank'];
const STATUSES = ['created', 'pending', 'paid', 'partially_refunded', 'refunded', 'closed', 'reversed', 'failed'];

function filterOf(query: URLSearchParams): Filter {
  const f: Filter = {};
  for (const k of FILTER_KEYS) {
    const v = query.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** The filter as the API reads it: amounts typed in NZD become minor units. */
function apiFilter(f: Filter): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(f)) {
    if (!v) continue;
    if (k === 'min' || k === 'max') {
      const minor = parseMinor(v);
      if (minor !== null) out[k] = String(minor);
    } else out[k] = v;
  }
  return out;
}

export function Payments({ me, query }: { me: Me; query: URLSearchParams }) {
  const { t, status, channel, shortDateTime } = useI18n();
  const applied = filterOf(query);
  const appliedKey = JSON.stringify(applied);
  const [draft, setDraft] = useState<Filter>(applied);
  const [page, setPage] = useState<PaymentPage | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [stores, setStores] = useState<StoreInfo[]>([]);

  useEffect(() => {
    // Store managers are not given the stores list; the text filter still works for them.
    api.stores().then(setStores, () => setStores([]));
  }, []);

  useEffect(() => {
    let live = true;
    setDraft(applied);
    setBusy(true);
    setError(undefined);
    api.payments(apiFilter(applied)).then(
      (p) => {
        if (!live) return;
        setPage(p);
        setBusy(false);
      },
      (e: unknown) => {
        if (!live) return;
        setPage(null);
        setError(e);
        setBusy(false);
      },
    );
    return () => {
      live = false;
    };
    // The applied filter is the address; its text is the dependency.
  }, [appliedKey]);

  const set = (k: FilterKey, v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const apply = (e?: FormEvent) => {
    e?.preventDefault();
    go('payments', draft as Record<string, string>);
  };

  async function more() {
    if (!page?.nextCursor) return;
    setBusy(true);
    try {
      const next = await api.payments(apiFilter(applied), page.nextCursor);
      setPage({ items: [...page.items, ...next.items], nextCursor: next.nextCursor, totals: page.totals });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const exportFilter = apiFilter(applied);
  const hq = isHqRole(me.role);

  return (
    <section className="page payments">
      <div className="page-head">
        <h1>{t('navPayments')}</h1>
        <div className="exports">
          {me.role !== 'viewer' && (
            <>
              <a
                data-testid="export-payments"
                className="button"
                href={api.exportUrl('payments', exportFilter)}
                download
              >
                {t('exportPayments')}
              </a>
              <a className="button quiet" href={api.exportUrl('refunds', exportFilter)} download>
                {t('exportRefunds')}
              </a>
              <a className="button quiet" href={api.exportUrl('xero', exportFilter)} download>
                {t('exportXero')}
              </a>
            </>
          )}
        </div>
      </div>
      <form className="filters card" onSubmit={apply}>
        <label className="field search">
          <span>{t('search')}</span>
          <input
            data-testid="payments-search"
            type="search"
            placeholder={t('searchHint')}
            value={draft.q ?? ''}
            onChange={(e) => set('q', e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') apply(e);
            }}
          />
        </label>
        <Field label={t('from')}>
          <input type="date" value={draft.from ?? ''} onChange={(e) => set('from', e.target.value)} />
        </Field>
        <Field label={t('to')}>
          <input type="date" value={draft.to ?? ''} onChange={(e) => set('to', e.target.value)} />
        </Field>
        <Field label={t('store')}>
          {stores.length ? (
            <select value={draft.store ?? ''} onChange={(e) => set('store', e.target.value)}>
              <option value="">{t('any')}</option>
              {stores.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                  {hq ? ` · ${s.merchant}` : ''}
                </option>
              ))}
            </select>
          ) : (
            <input value={draft.store ?? ''} onChange={(e) => set('store', e.target.value)} size={10} />
          )}
        </Field>
        <Field label={t('counter')}>
          <input value={draft.counter ?? ''} onChange={(e) => set('counter', e.target.value)} size={10} />
        </Field>
        <Field label={t('channel')}>
          <select value={draft.channel ?? ''} onChange={(e) => set('channel', e.target.value)}>
            <option value="">{t('any')}</option>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {channel(c)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('mode')}>
          <select value={draft.mode ?? ''} onChange={(e) => set('mode', e.target.value)}>
            <option value="">{t('any')}</option>
            {MODES.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('status')}>
          <select value={draft.status ?? ''} onChange={(e) => set('status', e.target.value)}>
            <option value="">{t('any')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {status(s)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('min')}>
          <input inputMode="decimal" size={7} value={draft.min ?? ''} onChange={(e) => set('min', e.target.value)} />
        </Field>
        <Field label={t('max')}>
          <input inputMode="decimal" size={7} value={draft.max ?? ''} onChange={(e) => set('max', e.target.value)} />
        </Field>
        {hq && (
          <Field label={t('merchant')}>
            <input value={draft.merchant ?? ''} size={12} onChange={(e) => set('merchant', e.target.value)} />
          </Field>
        )}
        <label className="check">
          <input
            type="checkbox"
            checked={draft.flagged === 'true'}
            onChange={(e) => set('flagged', e.target.checked ? 'true' : '')}
          />
          {t('flagged')}
        </label>
        <div className="filter-actions">
          <button type="submit">{t('apply')}</button>
          <button type="button" className="quiet" onClick={() => go('payments')}>
            {t('clear')}
          </button>
        </div>
      </form>

      <ErrorNote error={error} />
      {page && page.totals.length > 0 && (
        <p className="totals" data-testid="payments-totals">
          <strong>{t('totals')}:</strong>{' '}
          {page.totals.map((x) => (
            <span key={x.currency} className="total">
              {x.count} × {x.currency}{' '}
              {formatMinor(typeof x.amount === 'number' ? x.amount : x.amount.minor, x.currency)}
            </span>
          ))}
        </p>
      )}
      {page && (
        <ListTable
          rows={page.items}
          rowKey={(p) => p.id}
          rowProps={(p) => ({
            'data-testid': 'payments-row',
            'data-out-trade-no': p.outTradeNo,
            className: p.flagged ? 'clickable flagged' : 'clickable',
            onClick: () => go(`payments/${encodeURIComponent(p.id)}`),
          })}
          empty={busy ? undefined : t('nothing')}
          columns={[
            // Each row in its own store's time (the zone the date filter is in).
            { key: 'created', className: 'nowrap', cell: (p) => shortDateTime(p.createdAt, p.timezone) },
            {
              key: 'orderNo',
              cell: (p) => (
                <>
                  <a href={`#/payments/${encodeURIComponent(p.id)}`} onClick={(e) => e.stopPropagation()}>
                    {p.outTradeNo}
                  </a>
                  {p.flagged && <span className="flag">⚑</span>}
                </>
              ),
            },
            {
              key: 'store',
              head: hq ? `${t('store')} · ${t('merchant')}` : t('store'),
              cell: (p) => (
                <>
                  {p.storeName ?? ''}
                  {hq && <small className="sub">{p.merchantName}</small>}
                </>
              ),
            },
            { key: 'channel', className: 'nowrap', cell: (p) => channel(p.channel) },
            { key: 'status', cell: (p) => <span className={`status s-${p.status}`}>{status(p.status)}</span> },
            { key: 'amount', num: true, cell: (p) => formatMoney(p.amount) },
            { key: 'charged', num: true, cell: (p) => formatMoney(p.charged) },
            { key: 'refunded', num: true, cell: (p) => (p.refunded?.minor ? formatMoney(p.refunded) : '') },
          ]}
        />
      )}
      {busy && <p className="hint">{t('loading')}</p>}
      {page?.nextCursor && !busy && (
        <p>
          <button type="button" data-testid="payments-more" onClick={() => void more()}>
            {t('more')}
          </button>
        </p>
      )}
    </section>
  );
}
