import { useState, type FormEvent } from 'react';
import { api, isHqRole, mayRefund, type Me, type PaymentDetail, type RefundInfo } from '../api.js';
import { useI18n } from '../i18n.js';
import { formatMinor, formatMoney, parseMinor } from '../money.js';
import { ErrorNote, ListTable, useLoad } from '../ui.js';

// One payment: its amounts, rate, history, refunds, webhook deliveries and (HQ) the channel's
// raw messages; refund and close from here. The server decides who may do what; the buttons
// only follow its rules so a person is not offered what will be refused.

const REFUNDABLE = ['paid', 'partially_refunded'];
const CLOSABLE = ['created', 'pending'];

function RefundForm({ payment, onDone }: { payment: PaymentDetail; onDone: () => void }) {
  const { t, status } = useI18n();
  const currency = payment.amount.currency;
  const remaining = payment.amount.minor - (payment.refunded?.minor ?? 0);
  const [amount, setAmount] = useState(formatMinor(remaining, currency).replace(/,/g, ''));
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: RefundInfo } | { error: unknown } | null>(null);
  const minor = parseMinor(amount, currency);
  const valid = minor !== null && minor > 0 && minor <= remaining;

  async function send(e: FormEvent) {
    e.preventDefault();
    if (!valid || !reason.trim() || busy) return;
    setBusy(true);
    setResult(null);
    try {
      const refund = await api.refund(payment.id, minor, reason.trim());
      setResult({ ok: refund });
      onDone();
    } catch (err) {
      setResult({ error: err });
    } finally {
      setBusy(false);
    }
  }

  // Once sent, the form gives way to its result: a second press must not send a second refund.
  if (result && 'ok' in result)
    return (
      <div className="card refund-form">
        <h2>{t('refund')}</h2>
        <div data-testid="refund-result" className="result ok">
          <p>
            {t('refundDone')}: {formatMoney(result.ok.amount)} · {status(result.ok.status)}
          </p>
        </div>
      </div>
    );

  return (
    <form className="card refund-form" onSubmit={send}>
      <h2>{t('refund')}</h2>
      <dl className="facts compact">
        <dt>{t('refundRemaining')}</dt>
        <dd data-testid="refund-remaining">
          {currency} {formatMinor(remaining, currency)}
        </dd>
        <dt>{t('refundAfter')}</dt>
        <dd data-testid="refund-after">{valid ? `${currency} ${formatMinor(remaining - minor, currency)}` : '—'}</dd>
      </dl>
      <label className="field">
        <span>{t('refundAmount')}</span>
        <input
          data-testid="refund-amount"
          inputMode="decimal"
          value={amount}
          onChange={(e) => {
            setAmount(e.target.value);
            setResult(null);
          }}
          aria-invalid={!valid}
        />
      </label>
      <label className="field wide">
        <span>{t('refundReason')}</span>
        <input
          data-testid="refund-reason"
          maxLength={200}
          required
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
      </label>
      {!valid && amount !== '' && <p className="error">{t('refundBadAmount')}</p>}
      <p className="refund-summary">
        {t('refund')}: <strong>{valid ? `${currency} ${formatMinor(minor, currency)}` : '—'}</strong>
      </p>
      <button data-testid="refund-confirm" type="submit" disabled={!valid || !reason.trim() || busy}>
        {t('refundConfirm')}
      </button>
      {result && 'error' in result && (
        <div data-testid="refund-result" className="result failed">
          <ErrorNote error={result.error} />
        </div>
      )}
    </form>
  );
}

export function Payment({ me, id }: { me: Me; id: string }) {
  const { t, status, channel, dateTime } = useI18n();
  const source = (s: string) =>
    s === 'counter' ? t('sourceCounter') : s === 'api' ? t('sourceApi') : s === 'onecode' ? t('sourceOnecode') : s;
  const [loaded, error, busy, reload] = useLoad(() => api.payment(id), [id]);
  // The last payment loaded stays in hand while another id loads or is refused: never show it
  // (or offer its refund) under the other payment's address.
  const payment = loaded?.id === id ? loaded : undefined;
  // Its times in its store's zone (the answer's, New Zealand's for a payment without a store).
  const tz = payment?.timezone;
  const [refunding, setRefunding] = useState(false);
  const [note, setNote] = useState<string>('');
  const [actionError, setActionError] = useState<unknown>();

  async function close() {
    if (!payment || !window.confirm(t('closeConfirm'))) return;
    setActionError(undefined);
    try {
      await api.close(payment.id);
      setNote(t('closed'));
      reload();
    } catch (e) {
      setActionError(e);
    }
  }

  async function resend(deliveryId: string) {
    setActionError(undefined);
    try {
      await api.resend(deliveryId);
      setNote(t('resent'));
      reload();
    } catch (e) {
      setActionError(e);
    }
  }

  return (
    <section className="page payment">
      <p>
        <a href="#/payments">{t('back')}</a>
      </p>
      <ErrorNote error={error} />
      {busy && !payment && <p className="hint">{t('loading')}</p>}
      {payment && (
        <>
          <div className="page-head">
            <h1>
              {t('payment')} {payment.outTradeNo}
            </h1>
            <span data-testid="payment-status" className={`status big s-${payment.status}`}>
              {status(payment.status)}
            </span>
          </div>
          <div className="detail-grid">
            <dl className="facts card">
              <dt>{t('amount')}</dt>
              <dd className="amount">{formatMoney(payment.amount)}</dd>
              <dt>{t('charged')}</dt>
              <dd>{formatMoney(payment.charged) || '—'}</dd>
              <dt>{t('rate')}</dt>
              <dd>
                {payment.rate ?? '—'}
                {payment.rateAt ? <small> ({dateTime(payment.rateAt, tz)})</small> : null}
              </dd>
              <dt>{t('refunded')}</dt>
              <dd>{payment.refunded?.minor ? formatMoney(payment.refunded) : '—'}</dd>
              <dt>{t('channel')}</dt>
              <dd>
                {channel(payment.channel)} · {payment.mode}
              </dd>
              <dt>{t('source')}</dt>
              <dd>
                {source(payment.source)}
                {payment.terminalId ? ` · ${payment.terminalId}` : ''}
              </dd>
              <dt>{t('store')}</dt>
              <dd>{payment.storeName ?? '—'}</dd>
              {isHqRole(me.role) && (
                <>
                  <dt>{t('merchant')}</dt>
                  <dd>{payment.merchantName}</dd>
                </>
              )}
              <dt>{t('kauriId')}</dt>
              <dd className="mono">{payment.id}</dd>
              <dt>{t('created')}</dt>
              <dd data-testid="payment-created">{dateTime(payment.createdAt, tz)}</dd>
              <dt>{t('paidAt')}</dt>
              <dd>{dateTime(payment.paidAt, tz) || '—'}</dd>
            </dl>
            <div className="actions-col">
              {mayRefund(me.role) && REFUNDABLE.includes(payment.status) && (
                <p className="actions">
                  <button
                    type="button"
                    data-testid="payment-refund"
                    onClick={() => setRefunding((r) => !r)}
                    aria-expanded={refunding}
                  >
                    {t('refund')}
                  </button>
                </p>
              )}
              {mayRefund(me.role) && CLOSABLE.includes(payment.status) && (
                <p className="actions">
                  <button type="button" className="danger" data-testid="payment-close" onClick={() => void close()}>
                    {t('closePayment')}
                  </button>
                </p>
              )}
              {refunding && <RefundForm payment={payment} onDone={reload} />}
              {note && (
                <p className="notice" role="status">
                  {note}
                </p>
              )}
              <ErrorNote error={actionError} />
            </div>
          </div>

          <h2>{t('history')}</h2>
          <ListTable
            rows={payment.history ?? []}
            rowKey={(_h, i) => i}
            empty="—"
            emptyOnly
            columns={[
              { key: 'at', className: 'nowrap', cell: (h) => dateTime(h.at, tz) },
              { key: 'state', cell: (h) => status(h.state) },
              { key: 'reason', cell: (h) => h.reason ?? '' },
            ]}
          />

          <h2>{t('refunds')}</h2>
          <ListTable
            rows={payment.refunds ?? []}
            rowKey={(r) => r.id}
            rowProps={() => ({ 'data-testid': 'payment-refund-row' })}
            empty="—"
            emptyOnly
            columns={[
              { key: 'at', className: 'nowrap', cell: (r) => dateTime(r.createdAt ?? r.at, tz) },
              { key: 'amount', num: true, cell: (r) => formatMoney(r.amount) },
              { key: 'status', cell: (r) => status(r.status) },
              { key: 'reason', cell: (r) => r.reason ?? '' },
              { key: 'actor', cell: (r) => r.actor ?? '' },
            ]}
          />

          <h2>{t('deliveries')}</h2>
          <ListTable
            rows={payment.deliveries ?? []}
            rowKey={(d) => d.id}
            rowProps={() => ({ 'data-testid': 'delivery-row' })}
            empty="—"
            emptyOnly
            columns={[
              { key: 'at', className: 'nowrap', cell: (d) => dateTime(d.at, tz) },
              { key: 'event', cell: (d) => d.eventType },
              { key: '', head: 'URL', className: 'mono ellipsis', title: (d) => d.url, cell: (d) => d.url },
              { key: 'state', cell: (d) => d.state },
              { key: 'attempts', num: true, cell: (d) => d.attempts },
              { key: 'lastError', cell: (d) => d.lastError ?? '' },
              {
                key: '',
                // Webhooks are the merchant's developers' business: the server lets only these resend.
                cell: (d) =>
                  (me.role === 'hq_admin' || me.role === 'merchant_admin') && (
                    <button
                      type="button"
                      className="small"
                      data-testid="delivery-resend"
                      onClick={() => void resend(d.id)}
                    >
                      {t('resend')}
                    </button>
                  ),
              },
            ]}
          />

          {payment.messages && payment.messages.length > 0 && (
            <>
              <h2>{t('messages')}</h2>
              <pre className="raw" data-testid="payment-messages">
                {JSON.stringify(payment.messages, null, 2)}
              </pre>
            </>
          )}
        </>
      )}
    </section>
  );
}
