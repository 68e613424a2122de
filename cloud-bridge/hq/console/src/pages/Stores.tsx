import { useState, type FormEvent } from 'react';
import { isHqRole, type Me } from '../api.js';
import { useI18n } from '../i18n.js';
import { formatMinor, formatMoney, parseMinor } from '../money.js';
import { offices, type StoreInput, type StoreRow } from '../offices-api.js';
import { ErrorNote, Field, TableBox, go, useLoad } from '../ui.js';

// Stores: everyone reads the stores of their scope (a store manager their own); HQ admins
// create and change any merchant's, merchant admins their merchant's.

export const mayChangeStores = (me: Me): boolean => me.role === 'hq_admin' || me.role === 'merchant_admin';

/** A store's settings as a form; a new store also takes its code and, for HQ, its merchant. */
export function StoreForm({
  me,
  store,
  onSaved,
  disabled,
}: {
  me: Me;
  store?: StoreRow;
  onSaved: (s: StoreRow) => void;
  disabled?: boolean;
}) {
  const { t } = useI18n();
  const hq = isHqRole(me.role);
  const [merchants] = useLoad(() => (hq && !store ? offices.merchants() : Promise.resolve([])), [hq, store?.id]);
  const [form, setForm] = useState({
    merchantId: '',
    name: store?.name ?? '',
    code: '',
    timezone: store?.timezone ?? 'Pacific/Auckland',
    max: store ? formatMinor(store.maxStaticAmount.minor, store.maxStaticAmount.currency).replace(/,/g, '') : '5000.00',
  });
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form, v: string) => {
    setSaved(false);
    setForm((f) => ({ ...f, [k]: v }));
  };

  async function save(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    const max = parseMinor(form.max);
    if (max === null || max <= 0) {
      setError(new Error(`${t('maxStatic')}: ${form.max}`));
      return;
    }
    const body: StoreInput = { name: form.name.trim(), timezone: form.timezone.trim(), maxStaticAmountMinor: max };
    if (!store) {
      if (form.code.trim()) body.code = form.code.trim();
      if (hq) body.merchantId = form.merchantId || merchants?.[0]?.id;
    }
    setBusy(true);
    try {
      const s = store ? await offices.updateStore(store.id, body) : await offices.createStore(body);
      setSaved(true);
      onSaved(s);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="filters" onSubmit={save} data-testid="store-form">
      {!store && hq && (
        <Field label={t('merchant')}>
          <select
            data-testid="store-merchant"
            required
            value={form.merchantId || merchants?.[0]?.id || ''}
            onChange={(e) => set('merchantId', e.target.value)}
          >
            {(merchants ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </Field>
      )}
      <Field label={t('name')}>
        <input
          data-testid="store-name"
          required
          maxLength={200}
          disabled={disabled}
          value={form.name}
          onChange={(e) => set('name', e.target.value)}
        />
      </Field>
      {!store && (
        <Field label={t('storeCode')}>
          <input
            data-testid="store-code"
            pattern="[A-Za-z0-9_\-]{3,40}"
            title={t('storeCodeHint')}
            value={form.code}
            onChange={(e) => set('code', e.target.value)}
          />
        </Field>
      )}
      <Field label={t('timezone')}>
        <input
          data-testid="store-timezone"
          required
          disabled={disabled}
          value={form.timezone}
          onChange={(e) => set('timezone', e.target.value)}
        />
      </Field>
      <Field label={`${t('maxStaticShort')} (NZD)`}>
        <input
          data-testid="store-max-static"
          inputMode="decimal"
          disabled={disabled}
          value={form.max}
          onChange={(e) => set('max', e.target.value)}
        />
      </Field>
      {!disabled && (
        <div className="filter-actions">
          <button type="submit" data-testid="store-save" disabled={busy}>
            {store ? t('save') : t('storeCreate')}
          </button>
          {saved && (
            <span className="hint" role="status" data-testid="store-saved">
              {t('saved')}
            </span>
          )}
        </div>
      )}
      {!store && <p className="hint full">{t('storeCodeHint')}</p>}
      <div className="full">
        <ErrorNote error={error} />
      </div>
    </form>
  );
}

export function Stores({ me }: { me: Me }) {
  const { t, shortDateTime } = useI18n();
  const [list, error, busy] = useLoad(() => offices.stores(), []);
  const [creating, setCreating] = useState(false);
  const change = mayChangeStores(me);
  const hq = isHqRole(me.role);

  return (
    <section className="page stores">
      <div className="page-head">
        <h1>{t('navStores')}</h1>
        {change && (
          <button type="button" data-testid="store-new" onClick={() => setCreating((c) => !c)}>
            {t('storeCreate')}
          </button>
        )}
      </div>
      {change && creating && (
        <div className="card">
          <h2>{t('storeCreate')}</h2>
          <StoreForm me={me} onSaved={(s) => go(`stores/${encodeURIComponent(s.id)}`)} />
        </div>
      )}
      <ErrorNote error={error} />
      {busy && !list && <p className="hint">{t('loading')}</p>}
      {list && (
        <TableBox>
          <table className="list" data-testid="stores-table">
            <thead>
              <tr>
                <th>{t('name')}</th>
                <th>{t('codeShort')}</th>
                {hq && <th>{t('merchant')}</th>}
                <th>{t('timezone')}</th>
                <th className="num">{t('maxStaticShort')}</th>
                <th>{t('pinSetAt')}</th>
                <th>{t('created')}</th>
              </tr>
            </thead>
            <tbody>
              {list.length === 0 && (
                <tr>
                  <td colSpan={7} className="empty">
                    {t('nothing')}
                  </td>
                </tr>
              )}
              {list.map((s) => (
                <tr
                  key={s.id}
                  data-testid="store-row"
                  data-store-id={s.id}
                  data-store-code={s.code}
                  className="clickable"
                  tabIndex={0}
                  onClick={() => go(`stores/${encodeURIComponent(s.id)}`)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') go(`stores/${encodeURIComponent(s.id)}`);
                  }}
                >
                  <td className="name">
                    <a href={`#/stores/${encodeURIComponent(s.id)}`}>{s.name}</a>
                  </td>
                  <td className="mono">{s.code}</td>
                  {hq && <td>{s.merchant}</td>}
                  <td>{s.timezone}</td>
                  <td className="num nowrap">{formatMoney(s.maxStaticAmount)}</td>
                  <td className="nowrap">{s.managerPinSetAt ? shortDateTime(s.managerPinSetAt) : t('notSet')}</td>
                  <td className="nowrap">{shortDateTime(s.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableBox>
      )}
    </section>
  );
}
