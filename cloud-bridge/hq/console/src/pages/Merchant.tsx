import { useState, type FormEvent } from 'react';
import type { Me } from '../api.js';
import { useI18n } from '../i18n.js';
import { offices, type ChannelAccountInfo, type ChannelName } from '../offices-api.js';
import { ErrorNote, Field, ListTable, useLoad } from '../ui.js';
import { FormError, SaveRow, useSave } from '../forms.js';
import { MerchantForm, mayChangeMerchants } from './Merchants.js';

// One merchant: its settings, on or off, its channel accounts and its stores. A channel
// account is set with a form per channel whose fields are those the channel reads (the
// `kauri admin channel-account set` JSON); secret fields are password inputs, never filled
// in: the server takes them and never gives them back.

interface ChannelField {
  key: string;
  secret?: boolean;
  required?: boolean;
  long?: boolean;
  choices?: readonly string[];
  placeholder?: string;
}

/** The fields of each channel's account, as cloud-bridge/channels/<channel>/config.ts reads them. */
export const CHANNEL_FIELDS: Record<ChannelName, readonly ChannelField[]> = {
  wechat: [
    { key: 'apiBaseUrl', required: true, placeholder: 'https://apihk.mch.weixin.qq.com' },
    { key: 'appid', required: true },
    { key: 'mch_id', required: true },
    { key: 'sub_mch_id' },
    { key: 'sub_appid' },
    { key: 'signType', choices: ['MD5', 'HMAC-SHA256'] },
    { key: 'feeType', placeholder: 'NZD' },
    { key: 'apiKey', secret: true, required: true },
    { key: 'appSecret', secret: true },
    { key: 'clientCertP12Base64', secret: true, long: true },
    { key: 'clientCertPassphrase', secret: true },
  ],
  alipay: [
    { key: 'gatewayUrl', required: true, placeholder: 'https://intlmapi.alipay.com/gateway.do' },
    { key: 'inStoreGatewayUrl' },
    { key: 'partner', required: true, placeholder: '2088…' },
    { key: 'signType', choices: ['MD5', 'RSA', 'RSA2'] },
    { key: 'currency', placeholder: 'NZD' },
    { key: 'alipayPublicKey', long: true },
    { key: 'md5Key', secret: true },
    { key: 'privateKey', secret: true, long: true },
  ],
  bank: [
    { key: 'payBaseUrl', required: true, placeholder: 'https://pay.yizhifubj.com' },
    { key: 'apiBaseUrl', required: true, placeholder: 'https://api.yizhifubj.com' },
    { key: 'v_mid', required: true },
    { key: 'publicKey', required: true, long: true },
    { key: 'key', secret: true, required: true },
  ],
};

const CHANNELS: readonly ChannelName[] = ['wechat', 'alipay', 'bank'];

function ChannelAccountForm({
  merchantId,
  current,
  onSaved,
}: {
  merchantId: string;
  current: ChannelAccountInfo[];
  onSaved: () => void;
}) {
  const { t, channel: channelName } = useI18n();
  const [channel, setChannel] = useState<ChannelName>('wechat');
  const inUse = current.find((a) => a.channel === channel && a.active);
  // The settings start from the account in use (they are not secret); the secrets start empty.
  const initial = (c: ChannelName) => {
    const cfg = current.find((a) => a.channel === c && a.active)?.config ?? {};
    return Object.fromEntries(
      CHANNEL_FIELDS[c]
        .filter((f) => !f.secret)
        .map((f) => [f.key, typeof cfg[f.key] === 'string' ? (cfg[f.key] as string) : '']),
    );
  };
  const [values, setValues] = useState<Record<string, string>>(() => initial('wechat'));
  const { error, setError, saved, setSaved, busy, run, touched } = useSave();

  async function save(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    setSaved(false);
    const config: Record<string, unknown> = { ...(inUse?.config ?? {}) };
    const secrets: Record<string, string> = {};
    for (const f of CHANNEL_FIELDS[channel]) {
      const v = (values[f.key] ?? '').trim();
      if (f.secret) {
        if (v) secrets[f.key] = v;
      } else if (v) config[f.key] = v;
      else delete config[f.key];
    }
    await run(async () => {
      await offices.setChannelAccount(merchantId, { channel, config, secrets });
      // The secrets leave the page with the request.
      setValues((vs) =>
        Object.fromEntries(
          Object.entries(vs).filter(([k]) => !CHANNEL_FIELDS[channel].some((f) => f.key === k && f.secret)),
        ),
      );
      onSaved();
    });
  }

  return (
    <form className="filters" onSubmit={save} data-testid="channel-account-form" autoComplete="off">
      <h3 className="full">{t('channelAccountSet')}</h3>
      <Field label={t('channel')}>
        <select
          data-testid="channel-account-channel"
          value={channel}
          onChange={(e) => {
            const c = e.target.value as ChannelName;
            setChannel(c);
            setValues(initial(c));
            touched();
          }}
        >
          {CHANNELS.map((c) => (
            <option key={c} value={c}>
              {channelName(c)}
            </option>
          ))}
        </select>
      </Field>
      {CHANNEL_FIELDS[channel].map((f) => {
        const label = `${f.key}${f.secret ? ` (${t('secret')})` : ''}${f.required ? ' *' : ''}`;
        const common = {
          'data-testid': `channel-field-${f.key}`,
          name: f.key,
          required: f.required,
          value: values[f.key] ?? '',
          placeholder: f.placeholder,
          onChange: (e: { target: { value: string } }) => {
            touched();
            setValues((vs) => ({ ...vs, [f.key]: e.target.value }));
          },
        };
        return (
          <Field key={`${channel}-${f.key}`} label={label} wide={f.long}>
            {f.choices ? (
              <select {...common}>
                <option value="">—</option>
                {f.choices.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            ) : f.long ? (
              <textarea {...common} rows={3} spellCheck={false} />
            ) : (
              <input
                {...common}
                type={f.secret ? 'password' : 'text'}
                autoComplete={f.secret ? 'new-password' : 'off'}
                spellCheck={false}
              />
            )}
          </Field>
        );
      })}
      <p className="hint full">{t('channelAccountHint')}</p>
      <SaveRow testid="channel-account" label={t('save')} busy={busy} saved={saved} />
      <FormError error={error} />
    </form>
  );
}

export function Merchant({ me, id }: { me: Me; id: string }) {
  const { t, dateTime, channel } = useI18n();
  const [data, error, , reload] = useLoad(() => offices.merchant(id), [id]);
  const [actionError, setActionError] = useState<unknown>();
  const change = mayChangeMerchants(me);
  const m = data?.merchant;

  const act = (fn: () => Promise<unknown>) => {
    setActionError(undefined);
    fn().then(
      () => reload(),
      (e: unknown) => setActionError(e),
    );
  };

  return (
    <section className="page merchant">
      <div className="page-head">
        <a href="#/merchants">{t('back')}</a>
        <h1 data-testid="merchant-title">{m ? m.name : t('merchantDetails')}</h1>
        {m && (
          <span data-testid="merchant-state" className={`status big ${m.disabledAt ? 's-failed' : 's-paid'}`}>
            {m.disabledAt ? `${t('isOff')} ${t('since')} ${dateTime(m.disabledAt)}` : t('isOn')}
          </span>
        )}
      </div>
      <ErrorNote error={error ?? actionError} />
      {m && data && (
        <>
          <div className="card">
            <p className="hint mono">{m.id}</p>
            {/* Keyed by the merchant's id: a reload after saving shows what the server kept. */}
            <MerchantForm
              key={`${m.id}-${m.name}-${m.fxMarkup}`}
              merchant={m}
              disabled={!change}
              onSaved={() => reload()}
            />
            {change && (
              <div className="actions">
                <p className="hint">{t('merchantOffHint')}</p>
                <button
                  type="button"
                  className={m.disabledAt ? undefined : 'danger'}
                  data-testid="merchant-toggle"
                  onClick={() => act(() => offices.setMerchantOn(m.id, !!m.disabledAt))}
                >
                  {m.disabledAt ? t('turnOn') : t('turnOff')}
                </button>
              </div>
            )}
          </div>
          <div className="card">
            <h2>{t('channelAccounts')}</h2>
            <ListTable
              testid="channel-accounts-table"
              rows={data.channelAccounts}
              rowKey={(a) => a.id}
              empty={t('noneYet')}
              rowProps={(a) => ({
                'data-testid': 'channel-account-row',
                'data-channel': a.channel,
                className: !a.active || a.disabledAt ? 'muted' : undefined,
              })}
              columns={[
                { key: 'channel', cell: (a) => channel(a.channel) },
                { key: 'id', className: 'mono', cell: (a) => a.id },
                {
                  key: 'config',
                  className: 'mono small-text ellipsis',
                  cell: (a) =>
                    Object.entries(a.config)
                      .filter(([, v]) => typeof v === 'string' && v.length < 80)
                      .map(([k, v]) => `${k}=${String(v)}`)
                      .join(' '),
                },
                {
                  key: 'status',
                  cell: (a) => (!a.active ? t('replaced') : a.disabledAt ? t('isOff') : t('inUse')),
                },
                { key: 'created', className: 'nowrap', cell: (a) => dateTime(a.createdAt) },
                {
                  key: '',
                  cell: (a) =>
                    change &&
                    a.active && (
                      <button
                        type="button"
                        className={a.disabledAt ? 'small' : 'small danger'}
                        data-testid="channel-account-toggle"
                        onClick={() => act(() => offices.setChannelAccountOn(a.id, !!a.disabledAt))}
                      >
                        {a.disabledAt ? t('turnOn') : t('turnOff')}
                      </button>
                    ),
                },
              ]}
            />
            {change && <ChannelAccountForm merchantId={m.id} current={data.channelAccounts} onSaved={() => reload()} />}
          </div>
          <div className="card">
            <h2>{t('navStores')}</h2>
            {data.stores.length === 0 ? (
              <p className="hint">{t('noneYet')}</p>
            ) : (
              <ul className="plain">
                {data.stores.map((s) => (
                  <li key={s.id}>
                    <a href={`#/stores/${encodeURIComponent(s.id)}`}>{s.name}</a>{' '}
                    <span className="mono hint">{s.code}</span>
                  </li>
                ))}
              </ul>
            )}
          </div>
        </>
      )}
    </section>
  );
}
