import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import {
  act,
  CHANNEL_NAMES,
  nzd,
  secondsLeft,
  useCounterState,
  type ActionError,
  type Sale,
  type State,
} from './api.js';

// The cashier's screen: key an amount, Charge (one QR for every wallet) or scan the
// customer's code; watch the payment; cancel, refund with the manager PIN, see today's
// sales and the settlement. Every control is a big target and reachable by keyboard:
// Enter charges, Esc cancels, F2 goes to the scan field, F4 opens the settlement.

/** How a sale whose wallet is not known yet (a one-code QR still waiting) is named in the list. */
const KIND_NAMES: Record<Sale['kind'], string> = {
  checkout: 'QR 二维码',
  scan: 'Scan 扫码',
  static: 'Store code 店铺码',
};

// Four keys a row (delete and clear at the right): one row less than three a row, so a
// short window keeps the scan field and its messages in view.
const KEYS = ['7', '8', '9', '⌫', '4', '5', '6', 'C', '1', '2', '3', '00', '0', '.'];
const KEY_LABELS: Record<string, string> = { '⌫': 'delete', C: 'clear' };

function Bi({ en, zh }: { en: string; zh: string }) {
  return (
    <>
      <span className="en">{en}</span> <span className="zh">{zh}</span>
    </>
  );
}

export function Cashier() {
  const { state, stale } = useCounterState();
  const [amount, setAmount] = useState('');
  const [scan, setScan] = useState('');
  const [error, setError] = useState<ActionError | null>(null);
  const [refundSale, setRefundSale] = useState('');
  const [refundAmount, setRefundAmount] = useState('');
  const [pin, setPin] = useState('');
  const [refundMsg, setRefundMsg] = useState<ActionError | null>(null);
  const amountRef = useRef<HTMLInputElement>(null);
  // A serial scanner charges what is keyed here: the counter is told as it changes.
  useEffect(() => {
    void act('amount', { amount });
  }, [amount]);
  // A payment started from the keyed amount spends it (the counter forgets it too), however it
  // started: Charge, the scan field, or a serial scanner that the screen did not see.
  const startedId = state?.current?.active ? state.current.id : undefined;
  useEffect(() => {
    if (startedId) setAmount('');
  }, [startedId]);
  const scanRef = useRef<HTMLInputElement>(null);
  const refundAmountRef = useRef<HTMLInputElement>(null);
  // A receipt scanned into the scan field (or by a serial scanner) picks the sale to refund.
  const candidateAt = state?.refundCandidate?.at;
  useEffect(() => {
    const c = state?.refundCandidate;
    if (!c) return;
    setRefundSale(c.outTradeNo ?? c.id);
    setRefundAmount('');
    setRefundMsg(null);
    refundAmountRef.current?.focus();
  }, [candidateAt]);

  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === 'Escape') void run('cancel');
      if (e.key === 'F2') {
        e.preventDefault();
        scanRef.current?.focus();
      }
      if (e.key === 'F4') {
        e.preventDefault();
        void run('settlement');
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  async function run(name: string, body: unknown = {}): Promise<boolean> {
    const r = await act(name, body);
    setError(r.ok ? null : (r.error ?? null));
    return r.ok;
  }

  async function charge() {
    if (await run('charge', { amount })) setAmount('');
  }
  async function submitScan() {
    const code = scan;
    setScan('');
    const r = await act('scan', { code, amount });
    // The counter says a refused scan itself, once, in scan-error (a serial scanner's too);
    // here only what it could not say: the counter itself failing.
    setError(!r.ok && r.error?.code === 'internal' ? r.error : null);
    if (r.ok && (r.data as Sale | undefined)?.active) setAmount('');
  }
  async function refund() {
    const r = await act('refund', { sale: refundSale, amount: refundAmount, pin });
    setPin('');
    setRefundMsg(r.ok ? null : (r.error ?? null));
    if (r.ok) setRefundAmount('');
  }
  function key(k: string) {
    if (k === 'C') setAmount('');
    else if (k === '⌫') setAmount((a) => a.slice(0, -1));
    else setAmount((a) => (a + k).replace(/^0+(?=\d)/, ''));
    amountRef.current?.focus();
  }
  const onAmountKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') void charge();
  };
  const onScanKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      void submitScan();
    }
  };

  if (!state)
    return (
      <main className="loading">
        <Bi en="Starting…" zh="启动中…" />
      </main>
    );
  const cur = state.current;
  const offline = state.connection === 'OFFLINE';

  return (
    <main className="cashier-grid">
      <header className="bar">
        <strong>{state.store?.name ?? 'Kauri'}</strong>
        <span className="muted">{state.terminalName}</span>
        <span data-testid="connection-status" className={`pill ${offline ? 'bad' : 'good'}`}>
          {state.connection}
        </span>
        <span className="pill">
          <Bi en="Queued" zh="待发送" />: <b data-testid="outbox-count">{state.outboxCount}</b>
        </span>
        {stale && (
          <span className="pill bad">
            <Bi en="Screen lost the counter" zh="屏幕与收银核心断开" />
          </span>
        )}
      </header>
      {state.linkError && (
        <div className="banner bad" role="alert">
          <Bi en={`Refused by the bridge: ${state.linkError.message}`} zh="终端被拒绝（已停用或未配对）" />
        </div>
      )}
      {offline && !state.linkError && (
        <div className="banner bad" data-testid="offline-banner" role="alert">
          <Bi
            en={`OFFLINE — no new payment can start until the bridge is back. ${state.outboxCount} item(s) waiting.`}
            zh={`离线 — 连接恢复前无法发起新的支付，${state.outboxCount} 项待发送。`}
          />{' '}
          <button type="button" data-testid="reconnect-button" className="inline" onClick={() => void run('reconnect')}>
            <Bi en="Try now" zh="立即重连" />
          </button>
        </div>
      )}

      <section className="panel entry">
        <label htmlFor="amount">
          <Bi en="Amount (NZD)" zh="金额（纽币）" />
        </label>
        <input
          id="amount"
          ref={amountRef}
          data-testid="amount-input"
          className="big-input"
          inputMode="decimal"
          autoFocus
          autoComplete="off"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
          onKeyDown={onAmountKey}
          placeholder="0.00"
        />
        <div className="keypad">
          {KEYS.map((k) => (
            <button
              key={k}
              type="button"
              className={k === '0' ? 'wide' : undefined}
              aria-label={KEY_LABELS[k]}
              onClick={() => key(k)}
            >
              {k}
            </button>
          ))}
        </div>
        <button
          type="button"
          data-testid="charge-button"
          className="primary"
          disabled={offline}
          onClick={() => void charge()}
        >
          <Bi en="Charge (QR)" zh="收款（二维码）" />
        </button>
        <label htmlFor="scan">
          <Bi en="Scan customer's payment code (F2)" zh="扫描顾客付款码 (F2)" />
        </label>
        <input
          id="scan"
          ref={scanRef}
          data-testid="scan-input"
          className="big-input"
          autoComplete="off"
          value={scan}
          onChange={(e) => setScan(e.target.value)}
          onKeyDown={onScanKey}
          placeholder="WeChat / Alipay"
        />
        {state.scanError && (
          <div data-testid="scan-error" className="error" role="alert">
            <Bi en={state.scanError.en} zh={state.scanError.zh} />
          </div>
        )}
        {error && (
          <div data-testid="action-error" className="error" role="alert">
            <Bi en={error.message} zh={error.zh ?? ''} />
          </div>
        )}
      </section>

      <section className="panel payment" aria-live="polite">
        <h2>
          <Bi en="Payment" zh="支付" />
        </h2>
        {cur ? (
          <Current sale={cur} state={state} onCancel={() => void run('cancel')} onDone={() => void run('dismiss')} />
        ) : (
          <p className="muted" data-testid="payment-status">
            <Bi en="Ready for the next sale" zh="等待下一笔交易" />
          </p>
        )}
        {state.notice && (
          <div data-testid="notice" className={state.notice.kind === 'error' ? 'error' : 'info'}>
            <Bi en={state.notice.en} zh={state.notice.zh} />
          </div>
        )}
      </section>

      <section className="panel today">
        <h2>
          <Bi en="Today's sales" zh="今日交易" />{' '}
          <span className="muted">
            {state.totals.count} · {nzd(state.totals.netMinor)}
          </span>
        </h2>
        <ul data-testid="today-sales" className="sales">
          {state.today.map((s) => (
            <li
              key={s.id}
              data-testid="sale-row"
              data-out-trade-no={s.outTradeNo ?? ''}
              className={refundSale && refundSale === s.outTradeNo ? 'picked' : ''}
            >
              <span className="time">
                {new Date(s.createdAt).toLocaleTimeString('en-NZ', {
                  hour: '2-digit',
                  minute: '2-digit',
                  hour12: false,
                  timeZone: state.store?.timezone ?? 'Pacific/Auckland',
                })}
              </span>
              <span className="what">
                {s.channel ? (CHANNEL_NAMES[s.channel]?.[0] ?? s.channel) : KIND_NAMES[s.kind]}
                <span className={`status word-${s.status.replace(' ', '-').toLowerCase()}`}>{s.status}</span>
              </span>
              <span className="money">
                {nzd(s.amountMinor, s.currency)}
                {s.refundedMinor > 0 && <small className="refunded">−{(s.refundedMinor / 100).toFixed(2)}</small>}
              </span>
              {s.refundableMinor > 0 ? (
                <button
                  type="button"
                  data-testid="refund-select"
                  aria-label={`refund ${s.outTradeNo ?? s.id}`}
                  onClick={() => {
                    setRefundSale(s.outTradeNo ?? s.id);
                    setRefundAmount('');
                    setRefundMsg(null);
                    refundAmountRef.current?.focus();
                  }}
                >
                  <Bi en="Refund" zh="退款" />
                </button>
              ) : (
                <span className="no-refund" />
              )}
            </li>
          ))}
        </ul>
        <div className="refund">
          <h3>
            <Bi en="Refund (manager PIN)" zh="退款（需店长密码）" />
          </h3>
          <label htmlFor="refund-sale">
            <Bi en="Order no. (or scan the receipt)" zh="订单号（或扫小票）" />
          </label>
          <input
            id="refund-sale"
            data-testid="refund-sale"
            autoComplete="off"
            value={refundSale}
            onChange={(e) => setRefundSale(e.target.value)}
          />
          <label htmlFor="refund-amount">
            <Bi en="Amount, NZD (blank = all)" zh="金额（留空=全额）" />
          </label>
          <input
            id="refund-amount"
            ref={refundAmountRef}
            data-testid="refund-amount"
            inputMode="decimal"
            autoComplete="off"
            placeholder="0.00"
            value={refundAmount}
            onChange={(e) => setRefundAmount(e.target.value)}
          />
          <label htmlFor="manager-pin">
            <Bi en="Manager PIN" zh="店长密码" />
          </label>
          <input
            id="manager-pin"
            data-testid="manager-pin"
            type="password"
            inputMode="numeric"
            autoComplete="off"
            value={pin}
            onChange={(e) => setPin(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') void refund();
            }}
          />
          <button type="button" data-testid="refund-button" onClick={() => void refund()}>
            <Bi en="Refund" zh="退款" />
          </button>
          {refundMsg && (
            <div data-testid="refund-error" className="error" role="alert">
              <Bi en={refundMsg.message} zh={refundMsg.zh ?? ''} />
            </div>
          )}
        </div>
      </section>

      <section className="panel side">
        <button type="button" data-testid="settlement-button" onClick={() => void run('settlement')}>
          <Bi en="Settlement (F4)" zh="日结 (F4)" />
        </button>
        <CloseDay />
        {state.settlement && <SettlementView s={state.settlement} />}
        <h3>
          <Bi en="Devices" zh="设备" />
        </h3>
        <ul data-testid="device-health" className="devices">
          {state.devices.map((d) => (
            <li key={d.kind}>
              <b>{d.kind}</b> {d.state}
              {d.detail ? ` — ${d.detail}` : ''}
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}

function Current({
  sale,
  state,
  onCancel,
  onDone,
}: {
  sale: Sale;
  state: State;
  onCancel: () => void;
  onDone: () => void;
}) {
  const left = secondsLeft(sale.expiresAt, state.now);
  return (
    <div className={`current status-${sale.status.replace(' ', '-').toLowerCase()}`}>
      <div data-testid="payment-status" className="status-word">
        {sale.status}{' '}
        <small>
          <Bi en={sale.text.cashier[0]} zh={sale.text.cashier[1]} />
        </small>
      </div>
      <div className="amount">{nzd(sale.amountMinor, sale.currency)}</div>
      <div className="muted">
        {sale.kind === 'checkout'
          ? 'One-code QR 二维码收款'
          : sale.kind === 'scan'
            ? "Customer's code 扫顾客付款码"
            : 'Store code 店铺码'}
        {sale.channel ? ` · ${CHANNEL_NAMES[sale.channel]?.join(' ') ?? sale.channel}` : ''}
      </div>
      {sale.outTradeNo && (
        <div className="muted mono" data-testid="order-no">
          <Bi en="Order no." zh="订单号" /> {sale.outTradeNo}
        </div>
      )}
      {sale.active && left !== null && (
        <div data-testid="countdown" className="countdown">
          {Math.floor(left / 60)}:{String(left % 60).padStart(2, '0')}
        </div>
      )}
      {sale.cnyChargedMinor !== null && (
        <div>
          <Bi en="Customer charged" zh="顾客实付" /> ¥{(sale.cnyChargedMinor / 100).toFixed(2)}
          {sale.rate ? ` @ ${sale.rate}` : ''}
        </div>
      )}
      {sale.message && <div className="muted">{sale.message}</div>}
      <div className="row">
        {sale.active ? (
          <button type="button" data-testid="cancel-button" className="danger" onClick={onCancel}>
            <Bi en="Cancel (Esc)" zh="取消 (Esc)" />
          </button>
        ) : (
          <button type="button" data-testid="done-button" onClick={onDone}>
            <Bi en="Next sale" zh="下一笔" />
          </button>
        )}
      </div>
    </div>
  );
}

/** Closing the store day (the Z-report) takes the manager PIN; a refusal says why, in both languages. */
function CloseDay() {
  const [open, setOpen] = useState(false);
  const [pin, setPin] = useState('');
  const [msg, setMsg] = useState<ActionError | null>(null);
  const [busy, setBusy] = useState(false);
  async function close() {
    setBusy(true);
    const r = await act('close-day', { pin });
    setBusy(false);
    setPin('');
    setMsg(r.ok ? null : (r.error ?? null));
    if (r.ok) setOpen(false);
  }
  return (
    <div className="close-day">
      <button
        type="button"
        data-testid="close-day-button"
        aria-expanded={open}
        onClick={() => {
          setOpen(!open);
          setMsg(null);
        }}
      >
        <Bi en="Close day (Z)" zh="日结关账" />
      </button>
      {open && (
        <>
          <input
            data-testid="close-day-pin"
            aria-label="manager PIN to close the day"
            type="password"
            inputMode="numeric"
            autoFocus
            placeholder="manager PIN 店长密码"
            value={pin}
            onChange={(e) => setPin(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !busy) void close();
            }}
          />
          <button
            type="button"
            data-testid="close-day-confirm"
            className="danger"
            disabled={busy}
            onClick={() => void close()}
          >
            <Bi en="Close the day" zh="确认日结" />
          </button>
        </>
      )}
      {msg && (
        <div data-testid="close-day-error" className="error" role="alert">
          <Bi en={msg.message} zh={msg.zh ?? ''} />
        </div>
      )}
    </div>
  );
}

function SettlementView({ s }: { s: State['settlement'] & object }) {
  return (
    <div data-testid="settlement-report" className="report">
      <h3>
        {s.report === 'Z' ? (
          <Bi en={`Z-report · close no. ${s.closeNumber ?? '?'}`} zh="日结单" />
        ) : (
          <Bi en="X-report" zh="中途报表（未日结）" />
        )}
        {' · '}
        <Bi en="store day" zh="营业日" /> {s.storeDay}
      </h3>
      {s.periodStart && (
        <p className="muted" data-testid="settlement-since">
          <Bi en="since the last Z" zh="自上次日结" />{' '}
          {new Date(s.periodStart).toLocaleString('en-NZ', { timeZone: s.store?.timeZone ?? 'Pacific/Auckland' })}
        </p>
      )}
      <table>
        <caption className="muted">{s.currency}</caption>
        <thead>
          <tr>
            <th>channel</th>
            <th>n</th>
            <th>gross</th>
            <th>refunds</th>
            <th>net</th>
          </tr>
        </thead>
        <tbody>
          {s.channels.map((c) => (
            <tr key={c.channel}>
              <td>{c.channel}</td>
              <td>{c.count}</td>
              <td>{plain(c.grossMinor)}</td>
              <td>{plain(c.refundsMinor)}</td>
              <td>{plain(c.netMinor)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {s.openPayments.length > 0 && (
        <>
          <p className="error">
            <Bi en={`${s.openPayments.length} payment(s) still open`} zh="仍有未完成的支付" />
          </p>
          <ul data-testid="settlement-open" className="muted">
            {s.openPayments.map((p) => (
              <li key={p.outTradeNo}>
                {p.status.toUpperCase()} {p.outTradeNo} {nzd(p.amount.minor, p.amount.currency)}
              </li>
            ))}
          </ul>
        </>
      )}
      {s.channelDays.map((d) => (
        <p key={d.channelDay} className="muted">
          <Bi en="channel day (UTC+8)" zh="渠道日" /> {d.channelDay}: {d.count} · {nzd(d.netMinor)}
        </p>
      ))}
      <p className="muted mono">
        <Bi en="journal head" zh="日志哈希" /> #{s.journalHead.sequence} {s.journalHead.hash.slice(0, 16)}…
      </p>
    </div>
  );
}

/** An amount in a table whose caption names the currency: narrow columns stay on one line. */
const plain = (minor: number) => (minor / 100).toFixed(2);
