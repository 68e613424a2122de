import { useState, type FormEvent } from 'react';
import { isHqRole, type Me } from '../api.js';
import { useI18n } from '../i18n.js';
import { formatMinor, formatMoney, parseMinor } from '../money.js';
import { offices, type StoreInput, type StoreRow } from '../offices-api.js';
import { ErrorNote, Field, ListTable, go, opensOnClick, useLoad, type Column } from '../ui.js';
import { FormError, ListHead, SaveRow, useSave } from '../forms.js';

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
  const { error, setError, saved, busy, run, touched } = useSave();
  const set = (k: keyof typeof form, v: string) => {
    touched();
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
    await run(async () => {
      onSaved(store ? await offices.updateStore(store.id, body) : await offices.createStore(body));
    });
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
      {!disabled && <SaveRow testid="store" label={store ? t('save') : t('storeCreate')} busy={busy} saved={saved} />}
      {!store && <p className="hint full">{t('storeCodeHint')}</p>}
      <FormError error={error} />
    </form>
  );
}

export function Stores({ me }: { me: Me }) {
  const { t, shortDateTime } = useI18n();
  const [list, error, busy] = useLoad(() => offices.stores(), []);
  const hq = isHqRole(me.role);
  const open = (s: StoreRow) => go(`stores/${encodeURIComponent(s.id)}`);
  const columns: Array<Column<StoreRow>> = [
    { key: 'name', className: 'name', cell: (s) => <a href={`#/stores/${encodeURIComponent(s.id)}`}>{s.name}</a> },
    { key: 'codeShort', className: 'mono', cell: (s) => s.code },
    ...(hq ? [{ key: 'merchant', cell: (s) => s.merchant } satisfies Column<StoreRow>] : []),
    { key: 'timezone', cell: (s) => s.timezone },
    { key: 'maxStaticShort', num: true, className: 'nowrap', cell: (s) => formatMoney(s.maxStaticAmount) },
    {
      key: 'pinSetAt',
      className: 'nowrap',
      cell: (s) => (s.managerPinSetAt ? shortDateTime(s.managerPinSetAt) : t('notSet')),
    },
    { key: 'created', className: 'nowrap', cell: (s) => shortDateTime(s.createdAt) },
  ];

  return (
    <section className="page stores">
      <ListHead
        title={t('navStores')}
        create={
          mayChangeStores(me)
            ? { label: t('storeCreate'), testid: 'store-new', form: <StoreForm me={me} onSaved={open} /> }
            : undefined
        }
      />
      <ErrorNote error={error} />
      {busy && !list && <p className="hint">{t('loading')}</p>}
      {list && (
        <ListTable
          testid="stores-table"
          rows={list}
          rowKey={(s) => s.id}
          empty={t('nothing')}
          rowProps={(s) => ({
            'data-testid': 'store-row',
            'data-store-id': s.id,
            'data-store-code': s.code,
            className: 'clickable',
            ...opensOnClick(() => open(s)),
          })}
          columns={columns}
        />
      )}
    </section>
  );
}
