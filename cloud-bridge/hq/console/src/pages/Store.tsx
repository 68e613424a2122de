import { useState, type FormEvent } from 'react';
import type { Me } from '../api.js';
import { useI18n } from '../i18n.js';
import { formatMoney } from '../money.js';
import { offices, type CounterInfo, type DeviceHealth } from '../offices-api.js';
import { ErrorNote, Field, ListTable, useLoad } from '../ui.js';
import { StoreForm, mayChangeStores } from './Stores.js';

// One store: its settings, its printed sticker, its manager PIN (reset and shown once), new
// pairing codes (shown once) and its counters with their devices' health. What a role may do
// is decided by the server; the page shows each action to the roles that may take it.

/** States that need no one's attention (terminals/repo.ts HEALTHY_STATES). */
const HEALTHY = ['ready', 'connected', 'keyboard', 'none'];

/** Counters are paired and revoked by HQ admins, merchant admins and store managers. */
const mayWorkCounters = (me: Me): boolean =>
  me.role === 'hq_admin' || me.role === 'merchant_admin' || me.role === 'store_manager';

function Health({ devices }: { devices: DeviceHealth[] | null }) {
  const { t } = useI18n();
  if (!devices || devices.length === 0) return <span className="hint">{t('noReport')}</span>;
  return (
    <span className="devices">
      {devices.map((d) => (
        <span
          key={d.kind}
          data-testid="counter-device"
          className={`status ${HEALTHY.includes(d.state) ? 's-paid' : 's-failed'}`}
          title={d.detail}
        >
          {d.kind}: {d.state}
          {d.detail ? ` (${d.detail})` : ''}
        </span>
      ))}
    </span>
  );
}

function Pairing({ storeId, onMade }: { storeId: string; onMade: () => void }) {
  const { t, dateTime } = useI18n();
  const [name, setName] = useState('');
  const [made, setMade] = useState<{ code: string; expiresAt: string } | null>(null);
  const [error, setError] = useState<unknown>();

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    setMade(null);
    try {
      setMade(await offices.pairingCode(storeId, name.trim() || undefined));
      setName('');
      onMade();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <div className="card">
      <h2>{t('pairing')}</h2>
      <form className="inline" onSubmit={create}>
        <Field label={t('counterName')}>
          <input data-testid="pairing-name" maxLength={60} value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <button type="submit" data-testid="pairing-create">
          {t('pairingCreate')}
        </button>
      </form>
      {made && (
        <div className="secret">
          <p>
            {t('pairingShown')} {dateTime(made.expiresAt)}:
          </p>
          <code data-testid="pairing-code">{made.code}</code>
        </div>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

function Counters({ me, counters, onChange }: { me: Me; counters: CounterInfo[]; onChange: () => void }) {
  const { t, dateTime } = useI18n();
  const [error, setError] = useState<unknown>();
  const act = mayWorkCounters(me);
  return (
    <div className="card">
      <h2>{t('storeCounters')}</h2>
      <ErrorNote error={error} />
      <ListTable
        testid="counters-table"
        rows={counters}
        rowKey={(c) => c.id}
        empty={t('noneYet')}
        rowProps={(c) => ({
          'data-testid': 'counter-row',
          'data-counter-id': c.id,
          className: c.revokedAt ? 'muted' : undefined,
        })}
        columns={[
          { key: 'name', cell: (c) => c.name },
          { key: 'id', className: 'mono', cell: (c) => c.id },
          {
            key: 'status',
            cell: (c) =>
              c.revokedAt ? (
                `${t('revoked')} ${dateTime(c.revokedAt)}`
              ) : (
                <span className={`status ${c.connected ? 's-paid' : 's-pending'}`}>
                  {c.connected ? t('linked') : t('notLinked')}
                </span>
              ),
          },
          { key: 'lastSeen', className: 'nowrap', cell: (c) => (c.lastSeenAt ? dateTime(c.lastSeenAt) : t('never')) },
          { key: 'devices', cell: (c) => (c.revokedAt ? null : <Health devices={c.health} />) },
          {
            key: '',
            cell: (c) =>
              act &&
              !c.revokedAt && (
                <button
                  type="button"
                  className="small danger"
                  data-testid="counter-revoke"
                  onClick={() => {
                    setError(undefined);
                    offices.revokeCounter(c.id).then(
                      () => onChange(),
                      (e: unknown) => setError(e),
                    );
                  }}
                >
                  {t('revoke')}
                </button>
              ),
          },
        ]}
      />
    </div>
  );
}

function ManagerPin({ storeId, setAt, onReset }: { storeId: string; setAt: string | null; onReset: () => void }) {
  const { t, dateTime } = useI18n();
  const [pin, setPin] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  return (
    <div className="card">
      <h2>{t('managerPin')}</h2>
      <p className="hint">{t('managerPinHint')}</p>
      <p>
        {t('pinSetAt')}: <span data-testid="pin-set-at">{setAt ? dateTime(setAt) : t('notSet')}</span>
      </p>
      <button
        type="button"
        data-testid="pin-reset"
        onClick={() => {
          setError(undefined);
          setPin(null);
          offices.resetPin(storeId).then(
            (r) => {
              setPin(r.pin);
              onReset();
            },
            (e: unknown) => setError(e),
          );
        }}
      >
        {t('pinReset')}
      </button>
      {pin && (
        <div className="secret">
          <p>{t('pinShown')}</p>
          <code data-testid="pin-value">{pin}</code>
        </div>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

export function Store({ me, id }: { me: Me; id: string }) {
  const { t } = useI18n();
  const [data, error, , reload] = useLoad(() => offices.store(id), [id]);
  const s = data?.store;
  const change = mayChangeStores(me);

  return (
    <section className="page store">
      <div className="page-head">
        <a href="#/stores">{t('back')}</a>
        <h1 data-testid="store-title">{s ? s.name : t('storeDetails')}</h1>
      </div>
      <ErrorNote error={error} />
      {s && data && (
        <>
          <div className="detail-grid">
            <div className="card">
              <dl className="facts compact">
                <dt>{t('id')}</dt>
                <dd className="mono">{s.id}</dd>
                <dt>{t('codeShort')}</dt>
                <dd className="mono" data-testid="store-code-value">
                  {s.code}
                </dd>
                <dt>{t('merchant')}</dt>
                <dd>{s.merchant}</dd>
                <dt>{t('maxStaticShort')}</dt>
                <dd>{formatMoney(s.maxStaticAmount)}</dd>
              </dl>
              <StoreForm
                key={`${s.id}-${s.name}-${s.timezone}`}
                me={me}
                store={s}
                disabled={!change}
                onSaved={() => reload()}
              />
            </div>
            <div className="card">
              <h2>{t('sticker')}</h2>
              <p className="hint">{t('stickerHint')}</p>
              <a
                className="button"
                data-testid="sticker-download"
                href={offices.stickerUrl(s.id)}
                download={`sticker-${s.code}.pdf`}
              >
                {t('sticker')}
              </a>
            </div>
          </div>
          <div className="detail-grid">
            {mayWorkCounters(me) && <Pairing storeId={s.id} onMade={() => undefined} />}
            {change && <ManagerPin storeId={s.id} setAt={s.managerPinSetAt} onReset={() => reload()} />}
          </div>
          <Counters me={me} counters={data.counters} onChange={() => reload()} />
        </>
      )}
    </section>
  );
}
