import { useState, type FormEvent } from 'react';
import { api, isHqRole, type Me, type Role } from '../api.js';
import { useI18n } from '../i18n.js';
import { parseMinor } from '../money.js';
import { ErrorNote, Field, ListTable, useLoad } from '../ui.js';

// People: the users an admin manages and their invites (the link is shown once: there is no
// mail server), and for everyone their own sessions and two-factor sign-in.

const INVITABLE: Record<string, Role[]> = {
  hq_admin: ['hq_admin', 'hq_finance', 'merchant_admin', 'store_manager', 'viewer'],
  merchant_admin: ['merchant_admin', 'store_manager', 'viewer'],
};

function Invite({ me }: { me: Me }) {
  const { t, role } = useI18n();
  const roles = INVITABLE[me.role] ?? [];
  const [form, setForm] = useState({
    role: roles[roles.length - 1] ?? 'viewer',
    merchantId: '',
    storeIds: '',
    limit: '',
  });
  const [link, setLink] = useState<{ link: string; expiresAt: string } | null>(null);
  const [error, setError] = useState<unknown>();
  const set = (k: keyof typeof form, v: string) => setForm((f) => ({ ...f, [k]: v }));

  async function send(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    setLink(null);
    const limit = form.limit ? parseMinor(form.limit) : null;
    try {
      setLink(
        await api.invite({
          role: form.role as Role,
          ...(isHqRole(me.role) && form.merchantId ? { merchantId: form.merchantId.trim() } : {}),
          ...(form.storeIds.trim()
            ? {
                storeIds: form.storeIds
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean),
              }
            : {}),
          ...(limit !== null ? { refundLimitMinor: limit } : {}),
        }),
      );
    } catch (err) {
      setError(err);
    }
  }

  return (
    <form className="card filters" onSubmit={send}>
      <h2 className="full">{t('invite')}</h2>
      <Field label={t('role')}>
        <select value={form.role} onChange={(e) => set('role', e.target.value)}>
          {roles.map((r) => (
            <option key={r} value={r}>
              {role(r)}
            </option>
          ))}
        </select>
      </Field>
      {isHqRole(me.role) && !isHqRole(form.role as Role) && (
        <Field label={t('merchantId')}>
          <input value={form.merchantId} size={14} onChange={(e) => set('merchantId', e.target.value)} />
        </Field>
      )}
      {(form.role === 'store_manager' || form.role === 'viewer') && (
        <Field label={t('storeIds')}>
          <input value={form.storeIds} placeholder="st_…, st_…" onChange={(e) => set('storeIds', e.target.value)} />
        </Field>
      )}
      {form.role === 'store_manager' && (
        <Field label={t('refundLimit')}>
          <input inputMode="decimal" size={8} value={form.limit} onChange={(e) => set('limit', e.target.value)} />
        </Field>
      )}
      <div className="filter-actions">
        <button type="submit" data-testid="invite-create">
          {t('inviteSend')}
        </button>
      </div>
      {link && (
        <div className="secret full">
          <p>{t('inviteLink')}</p>
          <code data-testid="invite-link">{link.link}</code>
          <small>
            {t('expires')}: {link.expiresAt}
          </small>
        </div>
      )}
      <div className="full">
        <ErrorNote error={error} />
      </div>
    </form>
  );
}

function UserList({ me }: { me: Me }) {
  const { t, role } = useI18n();
  const [users, error, , reload] = useLoad(() => api.users(), []);
  const [actionError, setActionError] = useState<unknown>();
  return (
    <>
      <ErrorNote error={error ?? actionError} />
      {users && (
        <ListTable
          rows={users}
          rowKey={(u) => u.id}
          rowProps={(u) => ({ 'data-testid': 'user-row', className: u.disabled || u.disabledAt ? 'muted' : undefined })}
          columns={[
            { key: 'username', cell: (u) => u.username },
            { key: 'role', cell: (u) => role(u.role) },
            { key: 'merchant', cell: (u) => u.merchantId ?? '' },
            { key: 'twoFactor', cell: (u) => (u.totpEnabled ? t('totpOn') : t('totpOff')) },
            {
              key: '',
              cell: (u) =>
                u.disabled || u.disabledAt ? (
                  t('disabled')
                ) : u.username === me.username ? null : (
                  <button
                    type="button"
                    className="small danger"
                    onClick={() =>
                      void api.disableUser(u.id).then(
                        () => reload(),
                        (e: unknown) => setActionError(e),
                      )
                    }
                  >
                    {t('disable')}
                  </button>
                ),
            },
          ]}
        />
      )}
    </>
  );
}

function Sessions() {
  const { t, dateTime } = useI18n();
  const [sessions, error, , reload] = useLoad(() => api.sessions(), []);
  const [actionError, setActionError] = useState<unknown>();
  return (
    <>
      <h2>{t('sessions')}</h2>
      <ErrorNote error={error ?? actionError} />
      {sessions && (
        <ListTable
          rows={sessions}
          rowKey={(x) => x.id}
          rowProps={() => ({ 'data-testid': 'session-row' })}
          columns={[
            { key: 'username', cell: (x) => x.username ?? '' },
            { key: 'created', className: 'nowrap', cell: (x) => dateTime(x.createdAt) },
            { key: 'expires', className: 'nowrap', cell: (x) => dateTime(x.expiresAt) },
            { key: 'ip', className: 'mono', cell: (x) => x.ip ?? '' },
            { key: 'browser', className: 'ellipsis', cell: (x) => x.userAgent ?? '' },
            {
              key: '',
              cell: (x) =>
                x.current ? (
                  t('thisSession')
                ) : (
                  <button
                    type="button"
                    className="small"
                    onClick={() =>
                      void api.endSession(x.id).then(
                        () => reload(),
                        (e: unknown) => setActionError(e),
                      )
                    }
                  >
                    {t('end')}
                  </button>
                ),
            },
          ]}
        />
      )}
    </>
  );
}

function TwoFactor({ me, onMe }: { me: Me; onMe?: (me: Me) => void }) {
  const { t } = useI18n();
  const [enabled, setEnabled] = useState(me.totpEnabled);
  const [setup, setSetup] = useState<{ otpauthUrl: string; qrSvg: string } | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>();

  const run = (fn: () => Promise<void>) => {
    setError(undefined);
    fn().catch((e: unknown) => setError(e));
  };

  return (
    <div className="card two-factor">
      <h2>
        {t('twoFactor')}: <span data-testid="totp-state">{enabled ? t('totpOn') : t('totpOff')}</span>
      </h2>
      {!enabled && !setup && (
        <button type="button" data-testid="totp-setup" onClick={() => run(async () => setSetup(await api.totpSetup()))}>
          {t('totpStart')}
        </button>
      )}
      {setup && !enabled && (
        <div className="totp-setup">
          <p>{t('totpScan')}</p>
          {/* As an image, the server's SVG is drawn and never run. */}
          <img
            className="qr"
            data-testid="totp-qr"
            alt={setup.otpauthUrl}
            src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qrSvg)}`}
          />
          <code className="mono small-text" data-testid="totp-otpauth">
            {setup.otpauthUrl}
          </code>
        </div>
      )}
      {(setup || enabled) && (
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            run(async () => {
              if (enabled) await api.totpDisable(code);
              else await api.totpEnable(code);
              setEnabled(!enabled);
              setSetup(null);
              setCode('');
              // The session's own view of itself changed (a role that required it may now go on).
              onMe?.(await api.me());
            });
          }}
        >
          <Field label={t('totp')}>
            <input
              data-testid="totp-code"
              inputMode="numeric"
              pattern="\d{6}"
              maxLength={6}
              required
              value={code}
              onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
            />
          </Field>
          <button type="submit" data-testid="totp-submit">
            {enabled ? t('totpDisable') : t('totpEnable')}
          </button>
        </form>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

/** `own`: the person's own account (sessions, two-factor); otherwise the admin's users page. */
export function Users({ me, own, onMe }: { me: Me; own?: boolean; onMe?: (me: Me) => void }) {
  const { t } = useI18n();
  if (own)
    return (
      <section className="page account">
        <div className="page-head">
          <h1>{t('navAccount')}</h1>
        </div>
        <TwoFactor me={me} onMe={onMe} />
        <Sessions />
      </section>
    );
  return (
    <section className="page users">
      <div className="page-head">
        <h1>{t('navUsers')}</h1>
      </div>
      <Invite me={me} />
      <UserList me={me} />
    </section>
  );
}
