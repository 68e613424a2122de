import type { FastifyInstance } from 'fastify';
import { controlError, jsonBody } from '../common/server.js';
import { ControlError, optionalString, sendControlError } from '../common/control.js';
import type { NotifyJob } from '../common/notifier.js';
import { originOf } from './api.js';
import type { AlipayGateway } from './gateway.js';
import { formatMajor } from './money.js';

// The /sim/ control API (docs/CONTRACTS.md "Simulator control").

export function registerAlipayControl(
  app: FastifyInstance,
  deps: {
    gw: AlipayGateway;
    notifies: () => NotifyJob[];
    setMerchantKey: (partner: string, pem: string) => void;
    setTransCurrencies: (partner: string, list: string[]) => void;
  },
): void {
  const { gw } = deps;

  app.post('/sim/pay', async (req, reply) => {
    try {
      const b = jsonBody(req);
      const link = optionalString(b, 'redirect_url');
      const t = link
        ? gw.openLink(link, originOf(req))
        : gw.findForSim({
            out_trade_no: optionalString(b, 'out_trade_no'),
            trade_no: optionalString(b, 'trade_no'),
            qr_code: optionalString(b, 'qr_code'),
            token: optionalString(b, 'token'),
            partner: optionalString(b, 'partner'),
          });
      gw.simPay(t, optionalString(b, 'payer'), b.force === true);
      return {
        out_trade_no: t.out_trade_no,
        trade_no: t.trade_no,
        trade_status: t.status,
        amount: formatMajor(t.amount_minor, t.trans_currency),
        currency: t.trans_currency,
        rate: t.rate,
        cny: formatMajor(t.cny_minor!, 'CNY'),
        return_url: gw.returnUrl(t),
      };
    } catch (err) {
      return sendControlError(reply, err);
    }
  });

  app.post('/sim/paycode', async (req, reply) => {
    try {
      const pc = gw.mintPaycode(optionalString(jsonBody(req), 'behaviour') ?? 'success');
      return {
        auth_code: pc.code,
        behaviour: pc.behaviour,
        ...(pc.userpaying_n ? { userpaying_n: pc.userpaying_n } : {}),
      };
    } catch (err) {
      return sendControlError(reply, err);
    }
  });

  app.get('/sim/orders', async () => ({
    orders: gw.tradesView(),
    notifies: deps.notifies().map(({ body: _b, ...n }) => n),
  }));

  app.get('/sim/rates', async () => ({ rates: gw.data.rates }));
  app.post('/sim/rates', async (req, reply) => {
    try {
      const b = jsonBody(req);
      const currency = optionalString(b, 'currency');
      const rate = optionalString(b, 'rate');
      if (!currency || !/^[A-Z]{3}$/.test(currency))
        throw new ControlError(400, 'invalid_request', '"currency" must be an ISO code such as "NZD"');
      if (!rate || !/^\d{1,4}(\.\d{1,8})?$/.test(rate) || Number(rate) <= 0)
        throw new ControlError(
          400,
          'invalid_rate',
          '"rate" must be a positive decimal string of CNY per unit, e.g. "4.2156"',
        );
      gw.data.rates[currency] = rate;
      return { rates: gw.data.rates };
    } catch (err) {
      return sendControlError(reply, err);
    }
  });

  // What Alipay's BD would enable for a merchant: the spot pay trans_currency values it may send.
  app.get('/sim/merchant', async () => ({
    merchants: [...gw.merchants.values()].map((m) => ({
      partner: m.partner,
      name: m.name,
      trans_currencies: m.transCurrencies ?? [],
    })),
  }));
  app.post('/sim/merchant', async (req, reply) => {
    try {
      const b = jsonBody(req);
      const partner = optionalString(b, 'partner') ?? [...gw.merchants.keys()][0]!;
      if (!gw.merchants.has(partner)) throw new ControlError(404, 'unknown_partner', `no partner ${partner}`);
      const list = b.trans_currencies;
      if (!Array.isArray(list) || !list.every((c) => typeof c === 'string' && /^[A-Z]{3}$/.test(c))) {
        throw new ControlError(400, 'invalid_request', '"trans_currencies" must be a list of ISO codes, e.g. ["CNY"]');
      }
      deps.setTransCurrencies(partner, list as string[]);
      return { partner, trans_currencies: list };
    } catch (err) {
      return sendControlError(reply, err);
    }
  });

  app.get('/sim/keys', async () => ({
    alipay_public_key: gw.keys.publicKey,
    merchants: [...gw.merchants.values()].map((m) => ({
      partner: m.partner,
      merchant_public_key: m.publicKey ?? null,
    })),
  }));
  app.post('/sim/keys', async (req, reply) => {
    try {
      const b = jsonBody(req);
      const pem = optionalString(b, 'merchant_public_key');
      const partner = optionalString(b, 'partner') ?? [...gw.merchants.keys()][0]!;
      if (!pem)
        throw new ControlError(
          400,
          'invalid_request',
          'give "merchant_public_key" (PEM or base64 X.509 SubjectPublicKeyInfo)',
        );
      if (!gw.merchants.has(partner)) throw new ControlError(404, 'unknown_partner', `no partner ${partner}`);
      deps.setMerchantKey(partner, pem);
      return { partner, merchant_public_key: gw.merchants.get(partner)!.publicKey };
    } catch (err) {
      if (err instanceof Error && !(err instanceof ControlError) && /key/i.test(err.message)) {
        return controlError(reply, 400, 'invalid_key', `not an RSA public key: ${err.message}`);
      }
      return sendControlError(reply, err);
    }
  });
}
