import { useState, type FormEvent } from 'react';
import type { Me } from '../api.js';
import { useI18n } from '../i18n.js';
import { formatMinor, formatMoney, parseMinor } from '../money.js';
import { offices, type MerchantInfo, type MerchantInput } from '../offices-api.js';
import { ErrorNote, Field, ListTable, go, opensOnClick, useLoad } from '../ui.js';
import { FormError, ListHead, SaveRow, useSave } from '../forms.js';

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
  const { error, setError, saved, busy, run, touched } = useSave();
  const set = (k: keyof typeof form, v: string) => {
    touched();
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
    await run(async () => {
      onSaved(merchant ? await offices.updateMerchant(merchant.id, body) : await offices.createMerchant(body));
    });
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
        <SaveRow testid="merchant" label={merchant ? t('save') : t('merchantCreate')} busy={busy} saved={saved} />
      )}
      <FormError error={error} />
    </form>
  );
}

export function Merchants({ me }: { me: Me }) {
  const { t } = useI18n();
  const [list, error, busy] = useLoad(() => offices.merchants(), []);
  const open = (m: MerchantInfo) => go(`merchants/${encodeURIComponent(m.id)}`);

  return (
    <section className="page merchants">
      <ListHead
        title={t('navMerchants')}
        create={
          mayChangeMerchants(me)
            ? { label: t('merchantCreate'), testid: 'merchant-new', form: <MerchantForm onSaved={open} /> }
            : undefined
        }
      />
      <ErrorNote error={error} />
      {busy && !list && <p className="hint">{t('loading')}</p>}
      {list && (
        <ListTable
          testid="merchants-table"
          rows={list}
          rowKey={(m) => m.id}
          empty={t('nothing')}
          rowProps={(m) => ({
            'data-testid': 'merchant-row',
            'data-merchant-id': m.id,
            className: m.disabledAt ? 'muted clickable' : 'clickable',
            title: m.name,
            ...opensOnClick(() => open(m)),
          })}
          columns={[
            {
              key: 'name',
              className: 'name',
              cell: (m) => <a href={`#/merchants/${encodeURIComponent(m.id)}`}>{m.name}</a>,
            },
            { key: 'id', className: 'mono', cell: (m) => m.id },
            { key: 'domainsShort', className: 'ellipsis', cell: (m) => m.allowedDomains.join(', ') },
            { key: 'fxShort', num: true, cell: (m) => m.fxMarkup },
            { key: 'maxPaymentShort', num: true, className: 'nowrap', cell: (m) => formatMoney(m.maxPayment) },
            {
              key: 'status',
              cell: (m) => (
                <span className={`status ${m.disabledAt ? 's-failed' : 's-paid'}`}>
                  {m.disabledAt ? t('isOff') : t('isOn')}
                </span>
              ),
            },
          ]}
        />
      )}
    </section>
  );
}
