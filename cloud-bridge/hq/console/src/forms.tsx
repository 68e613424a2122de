import { useState, type FormEvent, type ReactNode } from 'react';
import { useI18n } from './i18n.js';
import { ErrorNote } from './ui.js';

// The pieces the console's forms share: saving with its busy/saved/error state, the row with the
// submit button and its "saved" note, a list page's head with its create panel, and the card a
// sign-in form sits in (logging in, accepting an invite).

/**
 * A form's saving state. `run(work)` marks the form busy while `work` runs, then shows "saved" or
 * the error `work` threw; `touched()` takes "saved" away when a field changes.
 */
export function useSave() {
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  async function run(work: () => Promise<void>) {
    setBusy(true);
    try {
      await work();
      setSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return { error, setError, saved, setSaved, busy, run, touched: () => setSaved(false) };
}

/** A form's submit button (data-testid `${testid}-save`) with its "saved" note (`${testid}-saved`). */
export function SaveRow({
  testid,
  label,
  busy,
  saved,
}: {
  testid: string;
  label: string;
  busy: boolean;
  saved: boolean;
}) {
  const { t } = useI18n();
  return (
    <div className="filter-actions">
      <button type="submit" data-testid={`${testid}-save`} disabled={busy}>
        {label}
      </button>
      {saved && (
        <span className="hint" role="status" data-testid={`${testid}-saved`}>
          {t('saved')}
        </span>
      )}
    </div>
  );
}

/** A form's error, across the whole width of its grid. */
export function FormError({ error }: { error: unknown }) {
  return (
    <div className="full">
      <ErrorNote error={error} />
    </div>
  );
}

/**
 * A list page's head: its title and, when `create` is given (a role that may), a button
 * (`create.testid`) that opens and closes a card with the form that makes a new one.
 */
export function ListHead({
  title,
  create,
}: {
  title: string;
  create?: { label: string; testid: string; form: ReactNode };
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <div className="page-head">
        <h1>{title}</h1>
        {create && (
          <button type="button" data-testid={create.testid} onClick={() => setOpen((o) => !o)}>
            {create.label}
          </button>
        )}
      </div>
      {create && open && (
        <div className="card">
          <h2>{create.label}</h2>
          {create.form}
        </div>
      )}
    </>
  );
}

/** The card a sign-in form sits in: its head, its fields, its submit button and its error. */
export function LoginCard({
  head,
  onSubmit,
  submit,
  error,
  children,
}: {
  head: ReactNode;
  onSubmit: (e: FormEvent) => void;
  submit: { testid: string; label: string; disabled: boolean };
  error: unknown;
  children: ReactNode;
}) {
  return (
    <div className="login-page">
      <form className="login card" onSubmit={onSubmit}>
        {head}
        {children}
        <button data-testid={submit.testid} type="submit" disabled={submit.disabled}>
          {submit.label}
        </button>
        <ErrorNote error={error} />
      </form>
    </div>
  );
}
