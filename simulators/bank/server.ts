import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { simRuntime, type RuntimeState } from '../common/runtime.js';
import { controlError, createSimServer, jsonBody, listen, rawBody, simLogger } from '../common/server.js';
import { JsonState } from '../common/state.js';
import { charsetOf, decodeForm } from './form.js';
import {
  BANKS,
  BankGateway,
  DEFAULT_MERCHANT,
  DEFAULT_RATES,
  GatewayError,
  type GatewayData,
  type Merchant,
} from './gateway.js';
import { errorPage, paymentPage } from './pages.js';
import { ensureGatewayKeys, macOk, rsaMd5Sign } from './sign.js';
import { chinaDayStart, chinaYmd } from './time.js';
import { xmlDocument } from './xml.js';

// `kauri sim bank`: a PayEase-style online-banking gateway (docs/protocols/payease-bank.md
// part B) with its payment page, batched notifies, query, refund, a daily statement of
// Kauri's design, the bank rate source and the /sim/ control API on one port.

/** Retries after the first delivery until the merchant answers `sent` (the real schedule is UNCONFIRMED). */
export const NOTIFY_SCHEDULE_MS = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400].map((s) => s * 1000);

type BankState = GatewayData & RuntimeState;

export interface BankSimOptions {
  port: number;
  host?: string;
  stateDir?: string;
  merchants?: Merchant[];
  log?: Logger;
}

export interface BankSim {
  url: string;
  app: FastifyInstance;
  gateway: BankGateway;
  stateDir?: string;
  publicKeyPem: string;
  close(): Promise<void>;
}

export const isNotifyAck = (status: number, body: string): boolean => status === 200 && body.trim() === 'sent';

function formOf(req: FastifyRequest, charset?: string): Record<string, string> {
  const body = rawBody(req);
  const fromQuery = req.url.includes('?') ? decodeForm(req.url.slice(req.url.indexOf('?') + 1), charset ?? 'gbk') : {};
  return { ...fromQuery, ...(body.length ? decodeForm(body, charset ?? charsetOf(req.headers['content-type'])) : {}) };
}

function xmlReply(reply: FastifyReply, doc: Buffer, charset = 'gb2312'): FastifyReply {
  return reply.type(`text/xml; charset=${charset}`).send(doc);
}

export async function startBankSim(opts: BankSimOptions): Promise<BankSim> {
  const log = opts.log ?? simLogger('bank-sim');
  const merchants = new Map<string, Merchant>([[DEFAULT_MERCHANT.v_mid, DEFAULT_MERCHANT]]);
  for (const m of opts.merchants ?? []) merchants.set(m.v_mid, m);
  const state = new JsonState<BankState>(
    opts.stateDir,
    'bank-sim.json',
    () => ({
      clockOffsetMs: 0,
      faults: [],
      notifies: [],
      orders: [],
      queued: [],
      rates: { ...DEFAULT_RATES },
      seq: 0,
      merchantPublicKey: null,
    }),
    { minIntervalMs: 100 },
  );
  // Merchants added through /sim/merchants come back with the state folder.
  for (const [vMid, b] of Object.entries(state.data.backOffice ?? {}))
    if (b.key && !merchants.has(vMid)) merchants.set(vMid, { v_mid: vMid, key: b.key });
  const keys = ensureGatewayKeys(opts.stateDir);
  const runtime = simRuntime(state, log, {
    schedule: NOTIFY_SCHEDULE_MS,
    isAck: isNotifyAck,
    tamper: (body) => body.replace(/v_sign=([0-9a-f])/, (_a, c: string) => `v_sign=${c === '0' ? '1' : '0'}`),
  });
  const { clock, notifier, save } = runtime;
  const gw = new BankGateway(state.data, merchants, clock, keys, notifier, log, save);

  const app = createSimServer({ log, bodyLimit: 64 * 1024 });
  runtime.install(app);

  const gatewayError = (reply: FastifyReply, err: unknown): FastifyReply => {
    if (err instanceof GatewayError)
      return reply.code(err.status).type('text/html; charset=utf-8').send(errorPage(err.message));
    throw err;
  };

  // Payment form (B2): answers the bank chooser page.
  const checkit = async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      const order = gw.submit(formOf(req));
      return reply.type('text/html; charset=utf-8').send(paymentPage(order));
    } catch (err) {
      return gatewayError(reply, err);
    }
  };
  app.post('/prs/user_payment.checkit', checkit);
  app.get('/prs/user_payment.checkit', checkit);

  // The bank page's buttons: settle, then send the browser back to v_url (B4).
  app.post('/prs/pay_confirm', async (req, reply) => {
    const form = formOf(req, 'utf-8');
    try {
      const action = form.action === 'fail' ? 'fail' : 'pay';
      const o = gw.settle(form.v_oid ?? '', action, form.v_pmode || BANKS[0]);
      return reply.redirect(gw.returnUrl(o), 302);
    } catch (err) {
      return gatewayError(reply, err);
    }
  });

  // Order query (B7).
  app.post('/merchant/order/order_ack_oid_list.jsp', async (req, reply) => {
    const f = formOf(req);
    const m = gw.merchant(f.v_mid ?? '');
    const head = (status: string, desc: string) => ({
      status,
      statusdesc: desc,
      mid: f.v_mid ?? '',
      oid: f.v_oid ?? '',
    });
    if (!m) return xmlReply(reply, xmlDocument('ordermessage', { messagehead: head('1', '商户不存在') }));
    if (!macOk(m.key, (f.v_mid ?? '') + (f.v_oid ?? ''), f.v_mac)) {
      return xmlReply(reply, xmlDocument('ordermessage', { messagehead: head('1', '数字签名错误') }));
    }
    if (req.simFault?.kind === 'unknown')
      return xmlReply(reply, xmlDocument('ordermessage', { messagehead: head('9', '系统繁忙') }));
    const o = gw.order(f.v_oid ?? '');
    if (!o || o.v_mid !== m.v_mid)
      return xmlReply(reply, xmlDocument('ordermessage', { messagehead: head('2', '订单不存在') }));
    const pstatus = o.status === 'paid' ? '1' : o.status === 'unpaid' ? '2' : '3';
    const pstring = o.status === 'paid' ? '支付成功' : o.status === 'unpaid' ? '未支付' : '支付失败';
    let sign = rsaMd5Sign(keys.privateKey, o.v_oid + pstatus + o.v_amount + o.v_moneytype);
    if (req.simFault?.kind === 'bad-signature') sign = sign.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    return xmlReply(
      reply,
      xmlDocument('ordermessage', {
        messagehead: head('0', 'Success'),
        messagebody: {
          order: {
            orderindex: '1',
            oid: o.v_oid,
            pmode: o.pmode,
            pstatus,
            pstring,
            amount: o.v_amount,
            moneytype: o.v_moneytype,
            isvirement: '0',
            sign,
          },
        },
      }),
    );
  });

  // Refund (B7).
  app.post('/merchant/refund/ref_ack_submit.jsp', async (req, reply) => {
    const f = formOf(req);
    const m = gw.merchant(f.v_mid ?? '');
    const base = { mid: f.v_mid ?? '', oid: f.v_oid ?? '', refamount: f.v_refamount ?? '', refoprt: f.v_refoprt ?? '' };
    const answer = (status: string, desc: string, refid = '') =>
      xmlReply(
        reply,
        xmlDocument('refundmessage', {
          status,
          statusdesc: desc,
          ...base,
          refid,
          sign: rsaMd5Sign(keys.privateKey, status + base.mid + base.oid + base.refamount + base.refoprt + refid),
        }),
      );
    if (!m) return answer('1', '商户不存在');
    if (!macOk(m.key, base.mid + base.oid + base.refamount + base.refoprt, f.v_mac)) return answer('1', '数字签名错误');
    if (req.simFault?.kind === 'unknown') return answer('9', '系统繁忙');
    const o = gw.order(base.oid);
    if (!o || o.v_mid !== m.v_mid) return answer('2', '订单不存在');
    try {
      const r = gw.refund(o, base.refamount, f.v_refreason ?? '', base.refoprt);
      return answer('0', '退款成功', r.refid);
    } catch (err) {
      if (err instanceof GatewayError) return answer('3', err.message);
      throw err;
    }
  });

  // Refunds of one order (B7), UTF-8.
  app.post('/merchant/refund/ref_ack_oid_list_utf8.jsp', async (req, reply) => {
    const f = formOf(
      req,
      charsetOf(req.headers['content-type']) === 'gbk' ? 'utf-8' : charsetOf(req.headers['content-type']),
    );
    const m = gw.merchant(f.v_mid ?? '');
    // The root and head follow a captured by-day list (<ordermessage>, head with version); the
    // entries the fields public clients read from the by-order list. The entry sign string is
    // not published: oid + refid + refamount + refstatus, as Kauri's refund-list adaptor expects.
    const head = (status: string, desc: string) => ({
      status,
      statusdesc: desc,
      mid: f.v_mid ?? '',
      oid: f.v_oid ?? '',
      version: f.v_version || '1.0',
    });
    if (!m || !macOk(m.key, (f.v_mid ?? '') + (f.v_oid ?? ''), f.v_mac)) {
      return xmlReply(reply, xmlDocument('ordermessage', { messagehead: head('1', '数字签名错误') }, 'utf-8'), 'utf-8');
    }
    const o = gw.order(f.v_oid ?? '');
    if (!o || o.v_mid !== m.v_mid)
      return xmlReply(reply, xmlDocument('ordermessage', { messagehead: head('2', '订单不存在') }, 'utf-8'), 'utf-8');
    return xmlReply(
      reply,
      xmlDocument(
        'ordermessage',
        {
          messagehead: head('0', 'Success'),
          messagebody: {
            refund: o.refunds.map((r, i) => ({
              refundindex: String(i + 1),
              refid: r.refid,
              refamount: r.amount,
              refmoneytype: '0',
              refdate: chinaYmd(new Date(r.time)),
              refstatus: '1',
              reftype: '4',
              offline_ref_status: '',
              refreason: r.reason,
              sign: rsaMd5Sign(keys.privateKey, o.v_oid + r.refid + r.amount + '1'),
            })),
          },
        },
        'utf-8',
      ),
      'utf-8',
    );
  });

  // The daily statement (cloud-bridge/reconcile/BANK-STATEMENT.md): Kauri's own design.
  app.post('/merchant/statement/day', async (req, reply) => {
    const f = formOf(req);
    const m = gw.merchant(f.v_mid ?? '');
    if (!m || !macOk(m.key, (f.v_mid ?? '') + (f.v_ymd ?? ''), f.v_mac)) {
      return reply.code(403).type('text/plain').send('bad mac');
    }
    let start: Date;
    try {
      start = chinaDayStart(f.v_ymd ?? '');
    } catch {
      return reply.code(400).type('text/plain').send('bad v_ymd');
    }
    // Published from 10:00 China time the next day.
    if (clock.nowMs() < start.getTime() + 34 * 3_600_000)
      return reply.code(404).type('text/plain').send('no statement');
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="bank-${m.v_mid}-${f.v_ymd}.csv"`)
      .send(gw.statement(m.v_mid, f.v_ymd!));
  });

  // The bank rate source (docs/CONTRACTS.md).
  app.get('/rate', async (req, reply) => {
    const currency = String((req.query as Record<string, unknown>).currency ?? '').toUpperCase();
    if (req.simFault?.kind === 'unknown')
      return reply.type('application/json').send('{"currency": "NZD", "cny_per_unit": "n/a", ');
    const r = gw.rate(currency);
    if (!r)
      return controlError(
        reply,
        404,
        'unknown_currency',
        `no rate for "${currency}" (known: ${Object.keys(state.data.rates).join(', ')})`,
      );
    return r;
  });

  // /sim/ control.
  app.post('/sim/pay', async (req, reply) => {
    const body = jsonBody(req);
    const vOid =
      typeof body.v_oid === 'string'
        ? body.v_oid
        : typeof body.out_trade_no === 'string'
          ? body.out_trade_no
          : undefined;
    if (!vOid) return controlError(reply, 400, 'invalid_request', '"v_oid" is required');
    const action = body.outcome === 'fail' ? 'fail' : 'pay';
    try {
      const o = gw.settle(vOid, action, typeof body.bank === 'string' ? body.bank : undefined);
      return { order: o, return_url: gw.returnUrl(o) };
    } catch (err) {
      if (err instanceof GatewayError) return controlError(reply, err.status, err.code, err.message);
      throw err;
    }
  });
  app.get('/sim/orders', async () => ({
    orders: state.data.orders,
    queued: state.data.queued,
    notifies: state.data.notifies,
  }));
  app.get('/sim/keys', async () => ({
    bank_public_key: keys.publicPem,
    bank_public_key_text: keys.publicKeyText,
    merchant_public_key: state.data.merchantPublicKey,
    merchants: [...merchants.values()].map((m) => ({ v_mid: m.v_mid, notify_url: gw.notifyUrlOf(m.v_mid) })),
  }));
  // The merchant back office: where the gateway sends a merchant's background notifies.
  app.get('/sim/merchants', async () => ({
    merchants: [...merchants.values()].map((m) => ({ v_mid: m.v_mid, notify_url: gw.notifyUrlOf(m.v_mid) })),
  }));
  app.post('/sim/merchants', async (req, reply) => {
    const body = jsonBody(req);
    const vMid = typeof body.v_mid === 'string' ? body.v_mid : '';
    const notifyUrl = body.notify_url;
    if (
      !/^\d{1,20}$/.test(vMid) ||
      !(
        notifyUrl === null ||
        (typeof notifyUrl === 'string' && /^https?:\/\//.test(notifyUrl) && URL.canParse(notifyUrl))
      ) ||
      (body.key !== undefined && (typeof body.key !== 'string' || !body.key))
    ) {
      return controlError(
        reply,
        400,
        'invalid_request',
        '"v_mid" (digits) and "notify_url" (an http(s) URL, or null for none) are required; "key" (the HMAC key) adds a merchant',
      );
    }
    try {
      return gw.configureMerchant(vMid, { notifyUrl, key: typeof body.key === 'string' ? body.key : undefined });
    } catch (err) {
      if (err instanceof GatewayError) return controlError(reply, err.status, err.code, err.message);
      throw err;
    }
  });
  app.post('/sim/keys', async (req, reply) => {
    const body = jsonBody(req);
    if (typeof body.merchant_public_key !== 'string' || !body.merchant_public_key.includes('PUBLIC KEY')) {
      return controlError(reply, 400, 'invalid_request', '"merchant_public_key" must be a PEM public key');
    }
    state.data.merchantPublicKey = body.merchant_public_key;
    save();
    return { merchant_public_key: state.data.merchantPublicKey };
  });
  app.post('/sim/rates', async (req, reply) => {
    const body = jsonBody(req);
    const currency = typeof body.currency === 'string' ? body.currency.toUpperCase() : '';
    const rate = typeof body.cny_per_unit === 'string' ? body.cny_per_unit : '';
    if (!/^[A-Z]{3}$/.test(currency) || !/^\d+(\.\d{1,8})?$/.test(rate) || Number(rate) <= 0) {
      return controlError(
        reply,
        400,
        'invalid_request',
        '"currency" (e.g. "NZD") and "cny_per_unit" (a positive decimal string) are required',
      );
    }
    state.data.rates[currency] = rate;
    save();
    return gw.rate(currency);
  });
  app.post('/sim/notify/flush', async () => {
    gw.flushBatches();
    return { notifies: state.data.notifies.filter((n) => n.status === 'pending').length };
  });

  const url = await listen(app, opts.port, opts.host ?? '127.0.0.1');
  runtime.start();
  gw.armBatchTimer();
  return {
    url,
    app,
    gateway: gw,
    stateDir: opts.stateDir,
    publicKeyPem: keys.publicPem,
    async close() {
      gw.stop();
      await runtime.close(app);
    },
  };
}
