import { useState, type FormEvent } from 'react';
import type { Me } from '../api.js';
import { useI18n } from '../i18n.js';
import { formatMinor, formatMoney, parseMinor } from '../money.js';
import { offices, type MerchantInfo, type MerchantInput } from '../offices-api.js';
import { ErrorNote, Field, TableBox, go, useLoad } from '../ui.js';

// Merchants: HQ reads them all and an HQ admin creates and changes them; a merchant admin sees
// their own (read-only). The server decides; the page only hides what the role cannot use.

export const mayChangeMerchants = (me: Me): boolean => me.role === 'hq_admin';

/** The merchant's own settings as a form: name, allowed domains, FX markup, maximum per payment. */
export function MerchantForm({
  merchant,
  onSaved,
  disabled,
}: {
  merchant?: MerchantInfo;
  onSaved: (m: MerchantInfo) => void;
  disabled?: boolean;
}) {
  const { t } = useI18n();
  const [form, setForm] = useState({
    name: merchant?.name ?? '',
    domains: merchant?.allowedDomains.join(', ') ?? '',
    fxMarkup: merchant?.fxMarkup ?? '0.02',
    max: merchant ? formatMinor(merchant.maxPayment.minor, merchant.maxPayment.currency).replace(/,/g, '') : '50000.00',
  });
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form, v: string) => {
    setSaved(false);
    setForm((f) => ({ ...f, [k]: v }));
  };
  const currency = merchant?.maxPayment.currency ?? 'NZD';

  async function save(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    const max = parseMinor(form.max, currency);
    if (max === null || max <= 0) {
      setError(new Error(`${t('maxPayment')}: ${form.max}`));
      return;
    }
    const body: MerchantInput = {
      name: form.name.trim(),
      allowedDomains: form.domains
        .split(/[,\s]+/)
        .map((d) => d.trim())
        .filter(Boolean),
      fxMarkup: form.fxMarkup.trim(),
      maxPayment: { minor: max, currency },
    };
    setBusy(true);
    try {
      const m = merchant ? await offices.updateMerchant(merchant.id, body) : await offices.createMerchant(body);
      setSaved(true);
      onSaved(m);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="filters" onSubmit={save} data-testid="merchant-form">
      <Field label={t('name')}>
        <input
          data-testid="merchant-name"
          required
          maxLength={200}
          disabled={disabled}
          value={form.name}
          onChange={(e) => set('name', e.target.value)}
        />
      </Field>
      <Field label={t('allowedDomains')}>
        <input
          data-testid="merchant-domains"
          placeholder="shop.example.co.nz"
          disabled={disabled}
          value={form.domains}
          onChange={(e) => set('domains', e.target.value)}
        />
      </Field>
      <Field label={t('fxMarkup')}>
        <input
          data-testid="merchant-fx-markup"
          inputMode="decimal"
          pattern="0(\.\d{1,6})?"
          disabled={disabled}
          value={form.fxMarkup}
          onChange={(e) => set('fxMarkup', e.target.value)}
        />
      </Field>
      <Field label={t('maxPayment').replace('NZD', currency)}>
        <input
          data-testid="merchant-max-payment"
          inputMode="decimal"
          disabled={disabled}
          value={form.max}
          onChange={(e) => set('max', e.target.value)}
        />
      </Field>
      {!disabled && (
        <div className="filter-actions">
          <button type="submit" data-testid="merchant-save" disabled={busy}>
            {merchant ? t('save') : t('merchantCreate')}
          </button>
          {saved && (
            <span className="hint" role="status" data-testid="merchant-saved">
              {t('saved')}
            </span>
          )}
        </div>
      )}
      <div className="full">
        <ErrorNote error={error} />
      </div>
    </form>
  );
}

export function Merchants({ me }: { me: Me }) {
  const { t } = useI18n();
  const [list, error, busy] = useLoad(() => offices.merchants(), []);
  const [creating, setCreating] = useState(false);
  const change = mayChangeMerchants(me);

  return (
    <section className="page merchants">
      <div className="page-head">
        <h1>{t('navMerchants')}</h1>
        {change && (
          <button type="button" data-testid="merchant-new" onClick={() => setCreating((c) => !c)}>
            {t('merchantCreate')}
          </button>
        )}
      </div>
      {change && creating && (
        <div className="card">
          <h2>{t('merchantCreate')}</h2>
          <MerchantForm onSaved={(m) => go(`merchants/${encodeURIComponent(m.id)}`)} />
        </div>
      )}
      <ErrorNote error={error} />
      {busy && !list && <p className="hint">{t('loading')}</p>}
      {list && (
        <TableBox>
          <table className="list" data-testid="merchants-table">
            <thead>
              <tr>
                <th>{t('name')}</th>
                <th>{t('id')}</th>
                <th>{t('domainsShort')}</th>
                <th className="num">{t('fxShort')}</th>
                <th className="num">{t('maxPaymentShort')}</th>
                <th>{t('status')}</th>
              </tr>
            </thead>
            <tbody>
              {list.length === 0 && (
                <tr>
                  <td colSpan={6} className="empty">
                    {t('nothing')}
                  </td>
                </tr>
              )}
              {list.map((m) => (
                <tr
                  key={m.id}
                  data-testid="merchant-row"
                  data-merchant-id={m.id}
                  className={m.disabledAt ? 'muted clickable' : 'clickable'}
                  title={m.name}
                  tabIndex={0}
                  onClick={() => go(`merchants/${encodeURIComponent(m.id)}`)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') go(`merchants/${encodeURIComponent(m.id)}`);
                  }}
                >
                  <td className="name">
                    <a href={`#/merchants/${encodeURIComponent(m.id)}`}>{m.name}</a>
                  </td>
                  <td className="mono">{m.id}</td>
                  <td className="ellipsis">{m.allowedDomains.join(', ')}</td>
                  <td className="num">{m.fxMarkup}</td>
                  <td className="num nowrap">{formatMoney(m.maxPayment)}</td>
                  <td>
                    <span className={`status ${m.disabledAt ? 's-failed' : 's-paid'}`}>
                      {m.disabledAt ? t('isOff') : t('isOn')}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableBox>
      )}
    </section>
  );
}
