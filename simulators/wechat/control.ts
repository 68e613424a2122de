import type { FastifyInstance } from 'fastify';
import { jsonBody } from '../common/server.js';
import { ControlError, optionalString, sendControlError } from '../common/control.js';
import type { NotifyJob } from '../common/notifier.js';
import { MWEB_PATH, type H5View, type WechatGateway } from './gateway.js';
import { formatMajor } from './fx.js';
import { verifyJsapiParams } from './jsapi.js';
import type { Order } from './model.js';

// The /sim/ control API (docs/CONTRACTS.md "Simulator control"), the customer's wallet page
// (`sim-pay`), and the OAuth endpoints a JSAPI page uses to learn the payer's openid.

export interface ControlDeps {
  gw: WechatGateway;
  notifies: () => NotifyJob[];
  keys: () => object;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function walletPage(o: Order | undefined, ref: Record<string, string>, problem?: string): string {
  const title = o ? `${escapeHtml(o.body)}` : 'Order not found';
  const amount = o ? `${formatMajor(o.total_fee, o.fee_type)} ${o.fee_type}` : '';
  const state = o ? o.trade_state : '';
  const payable = o && o.trade_state === 'NOTPAY' && !problem;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>WeChat Pay (simulator)</title>
<style>body{font-family:sans-serif;max-width:420px;margin:2em auto;padding:0 1em;text-align:center}
.amount{font-size:2em;margin:.5em 0}button{background:#07c160;color:#fff;border:0;border-radius:6px;font-size:1.2em;padding:.7em 2em}
.state{color:#666}</style></head>
<body>
<h1>WeChat Pay</h1>
<p class="merchant">${o ? `Merchant ${escapeHtml(o.mch_id)}` : ''}</p>
<p data-testid="sim-order-body">${title}</p>
<p class="amount" data-testid="sim-amount">${escapeHtml(amount)}</p>
<p class="state" data-testid="sim-state">${escapeHtml(problem ?? state)}</p>
${payable ? '<button data-testid="sim-pay" id="pay">Confirm payment</button>' : ''}
<script>
const ref = ${JSON.stringify(ref).replace(/</g, '\\u003c')};
const btn = document.getElementById('pay');
if (btn) btn.addEventListener('click', async () => {
  btn.disabled = true;
  const res = await fetch('/sim/pay', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ref) });
  const out = await res.json();
  document.querySelector('[data-testid=sim-state]').textContent = res.ok ? 'SUCCESS' : out.error.message;
  if (res.ok) btn.remove(); else btn.disabled = false;
  if (res.ok && ref.redirect) location.href = ref.redirect;
});
</script>
</body></html>`;
}

/**
 * The page mweb_url opens: on a phone, WeChat's app asking the customer to confirm. The
 * buttons post back here; then the browser goes to redirect_url whether or not they paid,
 * as WeChat does.
 */
function h5Page(view: H5View, q: Record<string, string>): string {
  const head = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信支付 WeChat Pay (simulator)</title>
<style>body{font-family:sans-serif;max-width:420px;margin:2em auto;padding:0 1em;text-align:center}
.amount{font-size:2em;margin:.5em 0}button{border:0;border-radius:6px;font-size:1.2em;padding:.7em 2em;margin:.3em}
#pay{background:#07c160;color:#fff}#cancel{background:#eee;color:#333}.state{color:#666}</style></head><body>
<h1>微信支付 WeChat Pay</h1>`;
  if (view.kind === 'error') return `${head}<p data-testid="sim-error">${escapeHtml(view.message)}</p></body></html>`;
  const o = view.order;
  const hidden = ['prepay_id', 'package', 'redirect_url']
    .filter((k) => q[k] !== undefined)
    .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(q[k]!)}">`)
    .join('');
  const payable = o.trade_state === 'NOTPAY';
  return `${head}
<p data-testid="sim-order-body">${escapeHtml(o.body)}</p>
<p class="amount" data-testid="sim-amount">${escapeHtml(`${formatMajor(o.total_fee, o.fee_type)} ${o.fee_type}`)}</p>
<p class="state" data-testid="sim-state">${escapeHtml(o.trade_state)}</p>
<form method="post" action="${MWEB_PATH}">${hidden}
${payable ? '<button type="submit" name="action" value="pay" id="pay" data-testid="sim-pay">确认支付 Confirm payment</button>' : ''}
<button type="submit" name="action" value="cancel" id="cancel" data-testid="sim-cancel">${payable ? '取消 Cancel' : '返回商家 Back to the merchant'}</button>
</form>
</body></html>`;
}

/**
 * A stand-in for the WeChat in-app browser's `WeixinJSBridge`: a test loads it into a
 * JSAPI page (e.g. Playwright's addInitScript) and `getBrandWCPayRequest` then opens
 * this simulator's wallet for the prepay_id, the way WeChat shows its pay sheet.
 */
function jsBridge(origin: string): string {
  return `(function(){
  if (window.WeixinJSBridge) return;
  window.WeixinJSBridge = { invoke: function(name, params, cb) {
    if (name !== 'getBrandWCPayRequest') { cb && cb({ err_msg: name + ':fail' }); return; }
    var pkg = String(params && params['package'] || '');
    var prepay = pkg.indexOf('prepay_id=') === 0 ? pkg.slice(10) : '';
    fetch(${JSON.stringify(origin)} + '/sim/jsapi/check', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(params) })
      .then(function(r){ return r.json(); })
      .then(function(r){
        if (!r.ok) { cb && cb({ err_msg: 'get_brand_wcpay_request:fail', err_desc: r.reason }); return; }
        // Back from the wallet on a page that asks again at load: the sheet would just close.
        if (r.trade_state && r.trade_state !== 'NOTPAY') { cb && cb({ err_msg: 'get_brand_wcpay_request:ok' }); return; }
        location.href = ${JSON.stringify(origin)} + '/sim/wallet?prepay_id=' + encodeURIComponent(prepay) + '&redirect=' + encodeURIComponent(location.href);
      });
  } };
  setTimeout(function(){ document.dispatchEvent(new Event('WeixinJSBridgeReady')); }, 0);
})();`;
}

export function registerWechatControl(app: FastifyInstance, deps: ControlDeps): void {
  const { gw } = deps;

  app.get('/', async (_req, reply) =>
    reply
      .type('text/plain; charset=utf-8')
      .send(
        [
          'Kauri WeChat Pay simulator (overseas API v2, XML).',
          '',
          'API (POST XML): /pay/unifiedorder /pay/micropay /pay/orderquery /secapi/pay/reverse /pay/closeorder',
          '                /secapi/pay/refund /pay/refundquery /pay/downloadbill /pay/queryexchagerate',
          'OAuth:          GET /connect/oauth2/authorize, GET /sns/oauth2/access_token',
          'Control (JSON): POST /sim/pay /sim/paycode /sim/faults /sim/clock /sim/rates; GET /sim/orders /sim/keys /sim/clock',
          'Customer:       GET /sim/wallet?code_url=…|prepay_id=…|out_trade_no=…',
          `H5 (MWEB):      GET ${MWEB_PATH}?prepay_id=…&package=…[&redirect_url=…] (Referer on a registered H5 domain)`,
          '',
          `Merchants: ${[...gw.merchants.values()].map((m) => `mch_id ${m.mch_id} appid ${m.appid} (${m.currency})`).join('; ')}`,
          '',
        ].join('\n'),
      ),
  );

  app.post('/sim/pay', async (req, reply) => {
    try {
      const b = jsonBody(req);
      const o = gw.simPay(
        {
          out_trade_no: optionalString(b, 'out_trade_no'),
          prepay_id: optionalString(b, 'prepay_id'),
          code_url: optionalString(b, 'code_url') ?? optionalString(b, 'qr_code'),
          mch_id: optionalString(b, 'mch_id'),
        },
        optionalString(b, 'payer'),
        b.force === true,
      );
      return {
        out_trade_no: o.out_trade_no,
        transaction_id: o.transaction_id,
        trade_state: o.trade_state,
        cash_fee: o.cash_fee,
        rate: o.rate,
      };
    } catch (err) {
      return sendControlError(reply, err);
    }
  });

  app.post('/sim/paycode', async (req, reply) => {
    try {
      const b = jsonBody(req);
      const pc = gw.mintPaycode(optionalString(b, 'behaviour') ?? 'success');
      return {
        auth_code: pc.auth_code,
        behaviour: pc.behaviour,
        ...(pc.userpaying_n ? { userpaying_n: pc.userpaying_n } : {}),
      };
    } catch (err) {
      return sendControlError(reply, err);
    }
  });

  app.get('/sim/orders', async (req) => {
    // ?out_trade_no=…&mch_id=… narrow the answer; without them, everything.
    const q = req.query as Record<string, string | undefined>;
    const match = (x: { out_trade_no?: string; mch_id?: string }) =>
      (!q.out_trade_no || x.out_trade_no === q.out_trade_no) && (!q.mch_id || x.mch_id === q.mch_id);
    return {
      orders: gw.ordersView().filter((o) => match(o as { out_trade_no?: string; mch_id?: string })),
      notifies: deps
        .notifies()
        .filter((n) => match(n.meta))
        .map(({ body: _b, ...n }) => n),
    };
  });

  app.get('/sim/rates', async () => ({
    rates: gw.data.rates.map((r) => ({ ...r, from: new Date(r.from_ms).toISOString() })),
  }));
  app.post('/sim/rates', async (req, reply) => {
    try {
      const b = jsonBody(req);
      const feeType = optionalString(b, 'fee_type') ?? optionalString(b, 'currency');
      const rate = b.rate;
      if (!feeType) throw new ControlError(400, 'invalid_request', 'give "fee_type" (or "currency"), e.g. "NZD"');
      if (typeof rate !== 'string')
        throw new ControlError(400, 'invalid_rate', '"rate" must be a decimal string of CNY per unit, e.g. "4.25"');
      const from = optionalString(b, 'from');
      if (from !== undefined && Number.isNaN(Date.parse(from)))
        throw new ControlError(400, 'invalid_request', '"from" must be ISO-8601');
      const e = gw.setRate(feeType, rate, from === undefined ? undefined : Date.parse(from));
      return { ...e, from: new Date(e.from_ms).toISOString() };
    } catch (err) {
      return sendControlError(reply, err);
    }
  });

  app.get('/sim/keys', async () => deps.keys());

  app.get('/sim/wallet', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const ref: Record<string, string> = {};
    for (const k of ['out_trade_no', 'prepay_id', 'code_url', 'mch_id', 'redirect'] as const) if (q[k]) ref[k] = q[k]!;
    let o: Order | undefined;
    let problem: string | undefined;
    try {
      o = gw.findForSim(ref);
    } catch (err) {
      if (!(err instanceof ControlError)) throw err;
      problem = err.message;
    }
    return reply
      .code(o ? 200 : 404)
      .type('text/html; charset=utf-8')
      .send(walletPage(o, ref, problem));
  });

  // H5 (MWEB): the page mweb_url opens, and the customer's answer to it.
  const h5Query = (raw: unknown): Record<string, string> => {
    const out: Record<string, string> = {};
    const q = (raw ?? {}) as Record<string, unknown>;
    for (const k of ['prepay_id', 'package', 'redirect_url'] as const) if (typeof q[k] === 'string') out[k] = q[k];
    return out;
  };
  app.get(MWEB_PATH, async (req, reply) => {
    const q = h5Query(req.query);
    const referer = typeof req.headers.referer === 'string' ? req.headers.referer : undefined;
    const view = gw.h5Open({ ...q, referer });
    return reply.type('text/html; charset=utf-8').send(h5Page(view, q));
  });
  app.post(MWEB_PATH, async (req, reply) => {
    // The simulator reads every body raw: this one is the page's form (urlencoded).
    const form = Object.fromEntries(
      new URLSearchParams(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '').entries(),
    );
    const q = h5Query(form);
    const action = form.action;
    const view = gw.h5Act(q, action === 'pay');
    if (view.kind === 'error') return reply.type('text/html; charset=utf-8').send(h5Page(view, q));
    // Back to the merchant whether or not the customer paid (the merchant asks WeChat).
    if (q.redirect_url) return reply.redirect(q.redirect_url, 303);
    return reply.type('text/html; charset=utf-8').send(h5Page(view, q));
  });

  app.post('/sim/jsapi/check', async (req, reply) => {
    // Checks the JSAPI pay parameters a merchant page built, as WeChat's pay sheet does.
    // Called from the merchant's page (another origin) by jsbridge.js as a simple
    // text/plain request, so no preflight is needed.
    reply.header('access-control-allow-origin', '*');
    try {
      const b = jsonBody(req) as Record<string, string>;
      const pkg = String(b.package ?? '');
      if (!pkg.startsWith('prepay_id=')) return { ok: false, reason: 'package must be prepay_id=…' };
      const o = gw.findForSim({ prepay_id: pkg.slice(10) });
      const m = gw.merchants.get(o.mch_id)!;
      if (b.appId !== o.appid) return { ok: false, reason: 'appId does not match the order' };
      const why = verifyJsapiParams(b, m.key);
      return why ? { ok: false, reason: why } : { ok: true, trade_state: o.trade_state };
    } catch (err) {
      return sendControlError(reply, err);
    }
  });

  app.get('/sim/jsbridge.js', async (req, reply) => {
    const origin = `${req.protocol}://${req.headers.host ?? req.hostname}`;
    return reply.type('application/javascript').send(jsBridge(origin));
  });

  // OAuth (snsapi_base): open.weixin.qq.com/connect/oauth2/authorize redirects back with a
  // code; api.weixin.qq.com/sns/oauth2/access_token trades it (with the AppSecret) for the openid.
  app.get('/connect/oauth2/authorize', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const merchant = [...gw.merchants.values()].find((m) => m.appid === q.appid);
    const page = (msg: string) =>
      reply
        .code(400)
        .type('text/html; charset=utf-8')
        .send(`<!doctype html><p>${escapeHtml(msg)}</p>`);
    if (!merchant) return page('appid参数错误 (unknown appid)');
    if (q.response_type !== 'code') return page('response_type参数错误 (must be code)');
    if (q.scope !== 'snsapi_base' && q.scope !== 'snsapi_userinfo')
      return page('scope参数错误 (snsapi_base or snsapi_userinfo)');
    let target: URL;
    try {
      target = new URL(q.redirect_uri ?? '');
    } catch {
      return page('redirect_uri参数错误 (an absolute URL)');
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return page('redirect_uri参数错误');
    // The simulated WeChat user: a cookie-less browser is "sim-customer" unless the test names one.
    const c = gw.mintOAuthCode(merchant.appid, q.sim_user ?? 'sim-customer');
    target.searchParams.set('code', c.code);
    if (q.state !== undefined) target.searchParams.set('state', q.state);
    return reply.redirect(target.toString(), 302);
  });

  app.get('/sns/oauth2/access_token', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const merchant = [...gw.merchants.values()].find((m) => m.appid === q.appid);
    if (!merchant) return { errcode: 40013, errmsg: 'invalid appid' };
    if (q.secret !== merchant.appsecret) return { errcode: 40125, errmsg: 'invalid appsecret' };
    if (q.grant_type !== 'authorization_code') return { errcode: 40002, errmsg: 'invalid grant_type' };
    const c = q.code ? gw.redeemOAuthCode(merchant.appid, q.code) : undefined;
    if (!c) return { errcode: 40029, errmsg: 'invalid code' };
    return {
      access_token: `sim_${c.code}`,
      expires_in: 7200,
      refresh_token: `simr_${c.code}`,
      openid: c.openid,
      scope: 'snsapi_base',
    };
  });
}
