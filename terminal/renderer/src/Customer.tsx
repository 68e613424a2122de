import { CHANNEL_NAMES, cny, nzd, secondsLeft, useCounterState, type State } from './api.js';

// The customer's screen: the amount in NZD, what each wallet will roughly charge in CNY
// (with the rate's time), one QR for every wallet, a countdown and the outcome. Between
// sales it shows the store's own code.

const OUTCOME_MS = 20_000;

export function Customer() {
  const { state } = useCounterState();
  if (!state) return <main className="loading">Kauri</main>;
  const cur = state.current;
  const showing = cur && (cur.active || Date.parse(state.now) - Date.parse(cur.updatedAt) < OUTCOME_MS);
  if (!cur || !showing) return <Idle state={state} />;
  const left = secondsLeft(cur.expiresAt, state.now);
  return (
    <main className={`customer-pay status-${cur.status.replace(' ', '-').toLowerCase()}`}>
      <h1 data-testid="customer-amount" className="amount">
        {nzd(cur.amountMinor, cur.currency)}
      </h1>
      {cur.status !== 'PAID' && cur.cnyChargedMinor === null && (
        <Estimates state={state} amountMinor={cur.amountMinor} channel={cur.channel} />
      )}
      {cur.qr && cur.status === 'WAITING' && (
        <figure>
          <img data-testid="customer-qr" src={cur.qr} alt="payment QR code" width={320} height={320} />
          <figcaption className="muted">
            WeChat Pay · Alipay · online banking (phone camera) · 微信支付 · 支付宝 · 网银（手机相机扫码）
          </figcaption>
        </figure>
      )}
      {cur.active && left !== null && (
        <div data-testid="customer-countdown" className="countdown">
          {Math.floor(left / 60)}:{String(left % 60).padStart(2, '0')}
        </div>
      )}
      <div data-testid="customer-status" className="status-word">
        {cur.status}
      </div>
      <p className="outcome">
        {cur.text.customer[0]}
        <br />
        <span className="zh">{cur.text.customer[1]}</span>
      </p>
      {cur.status === 'PAID' && cur.cnyChargedMinor !== null && (
        <p className="charged">
          Charged 实付 {cny(cur.cnyChargedMinor)}
          {cur.channel ? ` · ${CHANNEL_NAMES[cur.channel]?.join(' ') ?? cur.channel}` : ''}
        </p>
      )}
    </main>
  );
}

/** What each wallet will roughly charge; once the wallet is known (a scanned code), only its own. */
function Estimates({ state, amountMinor, channel }: { state: State; amountMinor: number; channel: string | null }) {
  const fx = state.fx && state.fx.amountMinor === amountMinor ? state.fx : null;
  const wallets = (['wechat', 'alipay'] as const).filter((ch) => !channel || channel === ch);
  return (
    <div data-testid="customer-cny" className="estimates">
      {wallets.map((ch) => {
        const q = fx?.[ch];
        return (
          <div key={ch} data-testid={`customer-cny-${ch}`} className="estimate">
            <b>
              {CHANNEL_NAMES[ch]![0]} {CHANNEL_NAMES[ch]![1]}
            </b>{' '}
            {q ? (
              <>
                ≈ {cny(q.cnyMinor)}{' '}
                <small>
                  rate 汇率 {q.rate} ·{' '}
                  {new Date(q.rateTime).toLocaleString('en-NZ', {
                    timeZone: state.store?.timezone ?? 'Pacific/Auckland',
                  })}
                </small>
              </>
            ) : (
              <span className="muted">rate unavailable · 汇率暂不可用</span>
            )}
          </div>
        );
      })}
    </div>
  );
}

function Idle({ state }: { state: State }) {
  return (
    <main className="customer-idle">
      <h1>{state.store?.name ?? 'Welcome'}</h1>
      <p>We take WeChat Pay and Alipay · 欢迎使用微信支付和支付宝</p>
      {state.staticQr && (
        <img data-testid="customer-static-qr" src={state.staticQr} alt="store payment code" width={280} height={280} />
      )}
      <p className="muted">Scan to pay this store · 扫码向本店付款</p>
      <div data-testid="customer-status" className="status-word idle" />
    </main>
  );
}
