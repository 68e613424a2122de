import { StrictMode, useEffect, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { api, isHqRole, needsTotp, whenLoggedOut, type Me } from './api.js';
import { LangProvider, useI18n, type Key } from './i18n.js';
import { Field, useRoute } from './ui.js';
import { LoginCard } from './forms.js';
import { Payments } from './pages/Payments.js';
import { Payment } from './pages/Payment.js';
import { Reports } from './pages/Reports.js';
import { Audit } from './pages/Audit.js';
import { Users } from './pages/Users.js';
import { Developers } from './pages/Developers.js';
import { Reconciliation } from './pages/Reconciliation.js';
import { Merchants } from './pages/Merchants.js';
import { Merchant } from './pages/Merchant.js';
import { Stores } from './pages/Stores.js';
import { Store } from './pages/Store.js';
import { AcceptInvite } from './pages/AcceptInvite.js';
import './styles.css';

function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <button
      type="button"
      className="lang"
      data-testid="lang-switch"
      onClick={() => setLang(lang === 'en' ? 'zh' : 'en')}
      lang={lang === 'en' ? 'zh-CN' : 'en'}
    >
      {t('language')}
    </button>
  );
}

function Login({ onIn }: { onIn: (me: Me) => void }) {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [askTotp, setAskTotp] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onIn(await api.login(username, password, askTotp ? totp : undefined));
    } catch (err) {
      if (needsTotp(err) && !askTotp) setAskTotp(true);
      else setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <LoginCard
      head={
        <div className="login-head">
          <h1>{t('appName')}</h1>
          <LangSwitch />
        </div>
      }
      onSubmit={submit}
      submit={{ testid: 'login-submit', label: t('login'), disabled: busy }}
      error={error}
    >
      <Field label={t('username')} wide>
        <input
          data-testid="login-user"
          autoComplete="username"
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
      </Field>
      <Field label={t('password')} wide>
        <input
          data-testid="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </Field>
      {askTotp && (
        <Field label={t('totp')} wide>
          <input
            data-testid="login-totp"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="\d{6}"
            maxLength={6}
            required
            autoFocus
            value={totp}
            onChange={(e) => setTotp(e.target.value.replace(/\D/g, ''))}
          />
          <small className="hint">{t('totpHint')}</small>
        </Field>
      )}
    </LoginCard>
  );
}

interface NavItem {
  path: string;
  key: Key;
  testid: string;
  show: (me: Me) => boolean;
}

const NAV: NavItem[] = [
  { path: 'payments', key: 'navPayments', testid: 'nav-payments', show: () => true },
  { path: 'reports', key: 'navReports', testid: 'nav-reports', show: () => true },
  { path: 'reconciliation', key: 'navReconciliation', testid: 'nav-reconciliation', show: () => true },
  // HQ reads every merchant (an HQ admin changes them), a merchant admin reads their own.
  {
    path: 'merchants',
    key: 'navMerchants',
    testid: 'nav-merchants',
    show: (me) => isHqRole(me.role) || me.role === 'merchant_admin',
  },
  // Everyone reads the stores of their scope; a store manager only their own.
  { path: 'stores', key: 'navStores', testid: 'nav-stores', show: () => true },
  {
    path: 'developers',
    key: 'navDevelopers',
    testid: 'nav-developers',
    show: (me) => me.role === 'hq_admin' || me.role === 'merchant_admin',
  },
  {
    path: 'users',
    key: 'navUsers',
    testid: 'nav-users',
    show: (me) => me.role === 'hq_admin' || me.role === 'merchant_admin',
  },
  // HQ reads the whole log, a merchant admin their merchant's entries.
  {
    path: 'audit',
    key: 'navAudit',
    testid: 'nav-audit',
    show: (me) => isHqRole(me.role) || me.role === 'merchant_admin',
  },
  { path: 'account', key: 'navAccount', testid: 'nav-account', show: () => true },
];

function Shell({ me, onOut, onMe }: { me: Me; onOut: () => void; onMe: (me: Me) => void }) {
  const { t, role } = useI18n();
  const route = useRoute();
  // A role that must use TOTP reaches only its own account page until it is set up.
  const totpFirst = me.totpRequired && !me.totpEnabled;
  const section = totpFirst ? 'account' : (route.parts[0] ?? '');
  const items = NAV.filter((n) => n.show(me) && (!totpFirst || n.path === 'account'));

  useEffect(() => {
    if (!section) window.location.replace('#/payments');
  }, [section]);

  let page;
  switch (section) {
    case 'payments':
      page = route.parts[1] ? <Payment me={me} id={route.parts[1]} /> : <Payments me={me} query={route.query} />;
      break;
    case 'reports':
      page = <Reports me={me} />;
      break;
    case 'audit':
      page = <Audit me={me} />;
      break;
    case 'users':
      page = <Users me={me} />;
      break;
    case 'account':
      page = (
        <>
          {totpFirst && (
            <p className="notice" role="status">
              {t('totpFirst')}
            </p>
          )}
          <Users me={me} own onMe={onMe} />
        </>
      );
      break;
    case 'developers':
      page = <Developers me={me} />;
      break;
    case 'merchants':
      page = route.parts[1] ? <Merchant me={me} id={route.parts[1]} /> : <Merchants me={me} />;
      break;
    case 'stores':
      page = route.parts[1] ? <Store me={me} id={route.parts[1]} /> : <Stores me={me} />;
      break;
    case 'reconciliation':
      page = <Reconciliation me={me} tab={route.parts[1]} />;
      break;
    default:
      page = null;
  }

  return (
    <div className="shell">
      <header className="top">
        <a className="brand" href="#/payments">
          Kauri <span>{t('appName').replace(/^Kauri\s*/, '')}</span>
        </a>
        <div className="who">
          <span data-testid="who">
            {me.username} · {role(me.role)}
          </span>
          <LangSwitch />
          <button
            type="button"
            className="quiet"
            data-testid="logout"
            onClick={() => {
              void api.logout().finally(onOut);
            }}
          >
            {t('logout')}
          </button>
        </div>
      </header>
      <nav className="side">
        {items.map((n) => (
          <a
            key={n.path}
            href={`#/${n.path}`}
            data-testid={n.testid}
            className={section === n.path ? 'active' : undefined}
            aria-current={section === n.path ? 'page' : undefined}
          >
            {t(n.key)}
          </a>
        ))}
      </nav>
      <main className="content">{page}</main>
    </div>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);
  const { t } = useI18n();
  const route = useRoute();

  useEffect(() => {
    whenLoggedOut(() => setMe(null));
    api.me().then(
      (m) => {
        setMe(m);
        setChecked(true);
      },
      () => setChecked(true),
    );
  }, []);

  if (!checked) return <p className="boot">{t('loading')}</p>;
  // An invite link opens the account-making form, whoever (if anyone) is logged in here.
  if (route.parts[0] === 'invite' && route.parts[1])
    return <AcceptInvite token={route.parts[1]} onDone={() => window.location.replace('#/payments')} />;
  if (!me) return <Login onIn={setMe} />;
  return <Shell me={me} onOut={() => setMe(null)} onMe={setMe} />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <LangProvider>
      <App />
    </LangProvider>
  </StrictMode>,
);
