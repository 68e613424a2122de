import { useEffect, useState, type FormEvent } from 'react';
import { api, type AuditEntry, type Me } from '../api.js';
import { useI18n } from '../i18n.js';
import { ErrorNote, Field, ListTable } from '../ui.js';

// The append-only audit log: who did what, when and from where. HQ reads and filters it.

export function Audit(_props: { me: Me }) {
  const { t, role, dateTime } = useI18n();
  const blank = { actor: '', action: '', merchant: '', from: '', to: '' };
  const [filter, setFilter] = useState(blank);
  const [applied, setApplied] = useState(blank);
  const [items, setItems] = useState<AuditEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    setBusy(true);
    setError(undefined);
    api.audit(applied).then(
      (page) => {
        if (!live) return;
        setItems(page.items);
        setCursor(page.nextCursor);
        setBusy(false);
      },
      (e: unknown) => {
        if (!live) return;
        setItems(null);
        setError(e);
        setBusy(false);
      },
    );
    return () => {
      live = false;
    };
  }, [applied]);

  async function more() {
    if (!cursor) return;
    setBusy(true);
    try {
      const page = await api.audit(applied, cursor);
      setItems((old) => [...(old ?? []), ...page.items]);
      setCursor(page.nextCursor);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const set = (k: keyof typeof blank, v: string) => setFilter((f) => ({ ...f, [k]: v }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setApplied({ ...filter });
  };

  return (
    <section className="page audit">
      <div className="page-head">
        <h1>{t('navAudit')}</h1>
      </div>
      <form className="filters card" onSubmit={submit}>
        <Field label={t('actor')}>
          <input value={filter.actor} size={12} onChange={(e) => set('actor', e.target.value)} />
        </Field>
        <Field label={t('action')}>
          <input value={filter.action} size={14} onChange={(e) => set('action', e.target.value)} />
        </Field>
        <Field label={t('merchant')}>
          <input value={filter.merchant} size={12} onChange={(e) => set('merchant', e.target.value)} />
        </Field>
        <Field label={t('from')}>
          <input type="date" value={filter.from} onChange={(e) => set('from', e.target.value)} />
        </Field>
        <Field label={t('to')}>
          <input type="date" value={filter.to} onChange={(e) => set('to', e.target.value)} />
        </Field>
        <div className="filter-actions">
          <button type="submit">{t('show')}</button>
        </div>
      </form>
      <ErrorNote error={error} />
      {items && (
        <ListTable
          testid="audit-table"
          rows={items}
          rowKey={(a) => a.id}
          rowProps={(a) => ({ 'data-testid': 'audit-row', 'data-action': a.action })}
          empty={busy ? undefined : t('nothing')}
          columns={[
            { key: 'at', className: 'nowrap', cell: (a) => dateTime(a.at) },
            { key: 'actor', cell: (a) => a.actor },
            { key: 'role', cell: (a) => role(a.role) },
            { key: 'action', className: 'mono', cell: (a) => a.action },
            { key: 'merchant', cell: (a) => a.merchantId ?? '' },
            { key: 'target', className: 'mono', cell: (a) => a.target ?? '' },
            { key: 'ip', className: 'mono', cell: (a) => a.ip ?? '' },
            {
              key: 'details',
              className: 'mono details',
              cell: (a) =>
                a.details === null || a.details === undefined
                  ? ''
                  : typeof a.details === 'string'
                    ? a.details
                    : JSON.stringify(a.details),
            },
          ]}
        />
      )}
      {busy && <p className="hint">{t('loading')}</p>}
      {cursor && !busy && (
        <p>
          <button type="button" onClick={() => void more()}>
            {t('more')}
          </button>
        </p>
      )}
    </section>
  );
}
