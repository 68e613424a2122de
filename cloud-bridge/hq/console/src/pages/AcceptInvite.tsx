import { useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { useI18n } from '../i18n.js';
import { Field } from '../ui.js';
import { LoginCard } from '../forms.js';

// Where an invite link lands (`/hq#/invite/<token>`): the invited person chooses their user
// name and password, then logs in as usual. The token is the credential and is good once; the
// server refuses a used or expired one (invite_expired), which is shown as it is.

export function AcceptInvite({ token, onDone }: { token: string; onDone: () => void }) {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const same = password === again;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!same || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.acceptInvite(token, username.trim(), password);
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (done)
    return (
      <div className="login-page">
        <div className="login card">
          <h1>{t('appName')}</h1>
          <p data-testid="invite-accepted" role="status">
            {t('inviteAccepted')}
          </p>
          <button type="button" data-testid="invite-to-login" onClick={onDone}>
            {t('login')}
          </button>
        </div>
      </div>
    );

  return (
    <LoginCard
      head={<h1>{t('inviteWelcome')}</h1>}
      onSubmit={submit}
      submit={{ testid: 'invite-accept', label: t('inviteAccept'), disabled: busy || !same }}
      error={error}
    >
      <Field label={t('username')} wide>
        <input
          data-testid="invite-username"
          autoComplete="username"
          required
          maxLength={100}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
      </Field>
      <Field label={t('newPassword')} wide>
        <input
          data-testid="invite-password"
          type="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </Field>
      <Field label={t('newPasswordAgain')} wide>
        <input
          data-testid="invite-password-again"
          type="password"
          autoComplete="new-password"
          required
          value={again}
          onChange={(e) => setAgain(e.target.value)}
          aria-invalid={!same}
        />
      </Field>
      {!same && again !== '' && <p className="error">{t('passwordsDiffer')}</p>}
    </LoginCard>
  );
}
