import { useState, type FormEvent } from 'react';
import { api, isHqRole, type Me } from '../api.js';
import { useI18n } from '../i18n.js';
import { ErrorNote, Field, ListTable, useLoad } from '../ui.js';

// API keys (the key is shown once: only its hash is kept) and the webhook endpoint. HQ works
// on one merchant at a time, named by its id; a merchant admin on their own.

function Keys({ merchant }: { merchant?: string }) {
  const { t, dateTime } = useI18n();
  const [keys, error, , reload] = useLoad(() => api.apiKeys(merchant), [merchant]);
  const [label, setLabel] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>();

  async function create(e: FormEvent) {
    e.preventDefault();
    setActionError(undefined);
    setSecret(null);
    try {
      const made = await api.createApiKey(label.trim() || 'console', merchant);
      setSecret(made.key);
      setLabel('');
      reload();
    } catch (err) {
      setActionError(err);
    }
  }

  return (
    <div className="card">
      <h2>{t('apiKeys')}</h2>
      <form className="inline" onSubmit={create}>
        <Field label={t('apiKeyLabel')}>
          <input value={label} maxLength={60} onChange={(e) => setLabel(e.target.value)} />
        </Field>
        <button type="submit" data-testid="apikey-create">
          {t('apiKeyCreate')}
        </button>
      </form>
      {secret && (
        <div className="secret">
          <p>{t('apiKeySecret')}</p>
          <code data-testid="apikey-secret">{secret}</code>
        </div>
      )}
      <ErrorNote error={error ?? actionError} />
      {keys && (
        <ListTable
          rows={keys}
          rowKey={(k) => k.id}
          rowProps={(k) => ({ 'data-testid': 'apikey-row', className: k.revokedAt ? 'muted' : undefined })}
          columns={[
            { key: 'id', className: 'mono', cell: (k) => k.prefix ?? k.id },
            { key: 'label', cell: (k) => k.label ?? '' },
            { key: 'created', className: 'nowrap', cell: (k) => dateTime(k.createdAt) },
            { key: 'lastUsed', className: 'nowrap', cell: (k) => (k.lastUsedAt ? dateTime(k.lastUsedAt) : t('never')) },
            {
              key: '',
              cell: (k) =>
                k.revokedAt ? (
                  t('revoked')
                ) : (
                  <button
                    type="button"
                    className="small danger"
                    data-testid="apikey-revoke"
                    onClick={() =>
                      void api.revokeApiKey(k.id).then(
                        () => reload(),
                        (e: unknown) => setActionError(e),
                      )
                    }
                  >
                    {t('revoke')}
                  </button>
                ),
            },
          ]}
        />
      )}
    </div>
  );
}

function Webhook({ merchant }: { merchant?: string }) {
  const { t } = useI18n();
  const [current, error] = useLoad(() => api.webhook(merchant), [merchant]);
  const [url, setUrl] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>();
  const shown = url ?? current?.url ?? '';

  const run = (fn: () => Promise<void>) => {
    setActionError(undefined);
    setSecret(null);
    fn().catch((e: unknown) => setActionError(e));
  };

  return (
    <div className="card">
      <h2>{t('webhook')}</h2>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          run(async () => {
            const r = await api.setWebhook(shown, merchant);
            if (r.secret) setSecret(r.secret);
          });
        }}
      >
        <Field label={t('webhookUrl')} wide>
          <input type="url" required value={shown} onChange={(e) => setUrl(e.target.value)} size={48} />
        </Field>
        <button type="submit">{t('save')}</button>
        <button
          type="button"
          className="quiet"
          onClick={() => run(async () => setSecret((await api.rotateWebhookSecret(merchant)).secret))}
        >
          {t('rotateSecret')}
        </button>
      </form>
      {secret && (
        <div className="secret">
          <p>{t('webhookSecret')}</p>
          <code data-testid="webhook-secret">{secret}</code>
        </div>
      )}
      <ErrorNote error={error ?? actionError} />
    </div>
  );
}

export function Developers({ me }: { me: Me }) {
  const { t } = useI18n();
  const hq = isHqRole(me.role);
  const [draft, setDraft] = useState('');
  const [merchant, setMerchant] = useState<string | undefined>(undefined);
  return (
    <section className="page developers">
      <div className="page-head">
        <h1>{t('navDevelopers')}</h1>
      </div>
      {hq && (
        <form
          className="filters card"
          onSubmit={(e) => {
            e.preventDefault();
            setMerchant(draft.trim() || undefined);
          }}
        >
          <Field label={t('merchantId')}>
            <input value={draft} size={16} placeholder="mch_…" onChange={(e) => setDraft(e.target.value)} />
          </Field>
          <div className="filter-actions">
            <button type="submit">{t('show')}</button>
          </div>
        </form>
      )}
      {(!hq || merchant) && (
        <>
          <Keys merchant={merchant} />
          <Webhook merchant={merchant} />
        </>
      )}
    </section>
  );
}
