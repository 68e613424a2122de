import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import rateLimit from '@fastify/rate-limit';
import QRCode from 'qrcode';
import type { Logger } from 'pino';
import { KauriError, isKauriError } from '../../protocol/errors.js';
import { MoneyError, money, parseDecimal, format } from '../../protocol/money.js';
import { PHONE_BROWSER_MODES, type ChannelName, type PaymentMode } from '../../protocol/payments.js';
import { oauthAuthorizeUrl, openidForCode } from '../channels/wechat/index.js';
import type { AccountsRepo } from '../store/accounts.js';
import { errorBoundary } from '../server/errors.js';
import type { OrdersRepo } from '../store/orders-repo.js';
import type { Checkout, CheckoutService } from './checkouts.js';
import {
  ASSET_PREFIX,
  chooserPage,
  jsapiPage,
  returnPage,
  staticAmountPage,
  wechatHandoffPage,
  statusPage,
  type BankQuoteView,
  type PageHead,
  type StatusKind,
} from './pages.js';
import { languageFor, offerFor, walletOf, type Lang } from './user-agent.js';
import { assertAllowedUrl } from './checkouts.js';

// The pages a customer's phone reaches from a QR code:
//   /c/<token>   a checkout: WeChat's browser goes through OAuth to a JSAPI page, Alipay's
//                straight to its QR-code payment, any other browser to a chooser;
//                (a phone's own browser gets buttons opening the wallets' apps instead of a QR);
//   /s/<code>    a store's printed sticker: the customer types the amount, then the same;
//   /r/<order>   where a wallet sends a phone's browser back after H5 / mobile-cashier payment.
// Amounts never come from the browser except the sticker's typed one, which is checked
// against the store's limit; everything else is read from the checkout on the server.

export const DEFAULT_LANDING_RATE_LIMIT = 120;

export interface LandingDeps {
  checkouts: CheckoutService;
  accounts: AccountsRepo;
  orders: OrdersRepo;
  log: Logger;
  readonly publicBaseUrl: string;
  /** Requests per minute per client on the landing pages (default 120). */
  rateLimitPerMinute?: number;
  /** A CNY quote for the bank channel, shown on the chooser (when the FX service is there). */
  bankQuote?(
    merchantId: string,
    amountMinor: number,
    currency: string,
  ): Promise<(BankQuoteView & { quoteId: string }) | undefined>;
}

function assetsDir(): string {
  const here = fileURLToPath(new URL('./assets/', import.meta.url));
  if (existsSync(here)) return here;
  // Compiled to dist/: the assets stay beside the sources.
  return fileURLToPath(new URL('../../../cloud-bridge/onecode/assets/', import.meta.url));
}

type TokenReq = FastifyRequest<{ Params: { token: string }; Querystring: Record<string, string | undefined> }>;

export async function registerLandingPages(app: FastifyInstance, deps: LandingDeps): Promise<void> {
  const { checkouts, accounts } = deps;

  // Assets are outside the rate limit: they come with every page view.
  await app.register(fastifyStatic, {
    root: assetsDir(),
    prefix: ASSET_PREFIX,
    decorateReply: false,
    maxAge: 3600_000,
    index: false,
  });

  await app.register(async (pages) => {
    await pages.register(rateLimit, {
      global: true,
      max: deps.rateLimitPerMinute ?? DEFAULT_LANDING_RATE_LIMIT,
      timeWindow: 60_000,
      keyGenerator: (req) => req.ip,
      errorResponseBuilder: (_req, ctx) =>
        new KauriError('rate_limited', `Rate limit exceeded: ${ctx.max} requests a minute`, { retryAfterS: 60 }),
    });

    // The bridge's one error boundary decides code, status and logging; pages answer people
    // with a page in their language, never with the API's JSON.
    pages.setErrorHandler(
      errorBoundary((ke, req, reply) => {
        const lang = langOf(req);
        const head: PageHead = { lang, merchantName: 'Kauri' };
        void reply.type('text/html; charset=utf-8');
        if (ke.code === 'rate_limited') return reply.send(statusPage(head, 'rate_limited'));
        if (ke.code === 'checkout_not_found') return reply.send(statusPage(head, 'not_found'));
        const detail = ke.code === 'internal' ? undefined : lang === 'zh' ? ke.zh : ke.message;
        return reply.send(statusPage(head, 'error', { detail }));
      }),
    );

    const headFor = async (c: Checkout, req: FastifyRequest): Promise<PageHead> => {
      const merchant = await accounts.getMerchant(c.merchantId);
      const store = c.storeId ? await accounts.getStore(c.storeId) : undefined;
      const lang = langOf(req);
      return {
        lang,
        merchantName: merchant?.name ?? '',
        storeName: store?.name ?? null,
        amount: money(c.amountMinor, c.currency),
        otherLangUrl: withLang(req.url, lang === 'zh' ? 'en' : 'zh'),
      };
    };

    /** The checkout, or the page that says why it cannot be paid. */
    const open = async (req: TokenReq, reply: FastifyReply): Promise<Checkout | undefined> => {
      const c = await checkouts.get(req.params.token);
      if (!c) {
        void reply
          .status(404)
          .type('text/html; charset=utf-8')
          .send(statusPage({ lang: langOf(req), merchantName: 'Kauri' }, 'not_found'));
        return undefined;
      }
      if (c.status === 'open') return c;
      const kind: StatusKind = c.status;
      const httpStatus = c.status === 'paid' ? 200 : 410;
      void reply
        .status(httpStatus)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(statusPage(await headFor(c, req), kind, { returnUrl: c.status === 'paid' ? c.returnUrl : undefined }));
      return undefined;
    };

    pages.get('/c/:token', async (req: TokenReq, reply) => {
      void reply.header('cache-control', 'no-store');
      const c = await open(req, reply);
      if (!c) return reply;
      const offered = await checkouts.channelsFor(c);
      const wallet = walletOf(req.headers['user-agent']);
      if (wallet === 'wechat' && offered.includes('wechat')) {
        const account = await accounts.activeChannelAccount(c.merchantId, 'wechat');
        const back = new URL(`/c/${c.token}/wechat`, deps.publicBaseUrl).toString();
        return reply.redirect(oauthAuthorizeUrl(account!, back, 'kauri'), 302);
      }
      if (wallet === 'alipay' && offered.includes('alipay')) {
        const started = await checkouts.startPayment(c, { channel: 'alipay', mode: 'precreate', clientIp: req.ip });
        if (started.order.qr_code) return reply.redirect(started.order.qr_code, 302);
        return chooser(c, req, reply, offered, { problem: 'Alipay did not answer; try again.' });
      }
      return chooser(c, req, reply, offered, {
        walletNotOffered: wallet !== 'browser',
        phone: offerFor(req.headers['user-agent']) === 'phone',
      });
    });

    // A phone's own browser chose a wallet: start (or find) its order and go to its pay page.
    const phonePay =
      (channel: 'wechat' | 'alipay', mode: 'h5' | 'wap') => async (req: TokenReq, reply: FastifyReply) => {
        const c = await open(req, reply);
        if (!c) return reply;
        const started = await checkouts.startPayment(c, { channel, mode, clientIp: req.ip });
        return reply.redirect(`/c/${c.token}/pay/${started.order.id}${langQuery(req)}`, 303);
      };
    pages.post('/c/:token/wechat-h5', phonePay('wechat', 'h5'));
    pages.post('/c/:token/alipay-wap', phonePay('alipay', 'wap'));

    const chooser = async (
      c: Checkout,
      req: FastifyRequest,
      reply: FastifyReply,
      offered: ChannelName[],
      extra: { walletNotOffered?: boolean; problem?: string; phone?: boolean } = {},
    ) => {
      const head = await headFor(c, req);
      let bankQuote: (BankQuoteView & { quoteId: string }) | undefined;
      if (offered.includes('bank') && deps.bankQuote) {
        bankQuote = await deps.bankQuote(c.merchantId, c.amountMinor, c.currency).catch((err: unknown) => {
          deps.log.warn({ err }, 'no bank quote for the chooser');
          return undefined;
        });
      }
      const qrSvg = await qrSvgFor(c.url);
      return reply.type('text/html; charset=utf-8').send(
        chooserPage({
          ...head,
          amount: money(c.amountMinor, c.currency),
          offers: {
            wechat: offered.includes('wechat'),
            alipay: offered.includes('alipay'),
            bank: offered.includes('bank'),
          },
          qrSvg,
          bankQuote,
          bankAction: `/c/${c.token}/bank`,
          walletNotOffered: extra.walletNotOffered,
          problem: extra.problem,
          phone: extra.phone
            ? { wechatAction: `/c/${c.token}/wechat-h5`, alipayAction: `/c/${c.token}/alipay-wap` }
            : undefined,
        }),
      );
    };

    // WeChat's OAuth comes back here with a one-time code: trade it for the payer's openid,
    // start (or find) the JSAPI order, and show its page at a URL that survives a reload.
    pages.get('/c/:token/wechat', async (req: TokenReq, reply) => {
      void reply.header('cache-control', 'no-store');
      const c = await open(req, reply);
      if (!c) return reply;
      const code = req.query.code;
      if (!code || !/^[A-Za-z0-9_-]{1,128}$/.test(code)) return reply.redirect(`/c/${c.token}`, 302);
      const account = await accounts.activeChannelAccount(c.merchantId, 'wechat');
      if (!account) throw new KauriError('channel_not_configured');
      const openid = await openidForCode(account, code);
      const started = await checkouts.startPayment(c, { channel: 'wechat', mode: 'jsapi', openid, clientIp: req.ip });
      return reply.redirect(`/c/${c.token}/pay/${started.order.id}`, 303);
    });

    pages.get(
      '/c/:token/pay/:order',
      async (
        req: FastifyRequest<{
          Params: { token: string; order: string };
          Querystring: Record<string, string | undefined>;
        }>,
        reply,
      ) => {
        void reply.header('cache-control', 'no-store');
        const c = await open(req as TokenReq, reply);
        if (!c) return reply;
        let order = await deps.orders.byId(req.params.order);
        if (!order || order.checkout_id !== c.id) {
          return reply
            .status(404)
            .type('text/html; charset=utf-8')
            .send(statusPage(await headFor(c, req), 'not_found'));
        }
        if (order.mode === 'h5') {
          const fresh = await checkouts.renewStaleLink(c, order, req.ip);
          if (fresh.id !== order.id) return reply.redirect(`/c/${c.token}/pay/${fresh.id}${langQuery(req)}`, 303);
          order = fresh;
          if (order.status !== 'pending' || !order.redirect_url)
            return reply.redirect(`/c/${c.token}${langQuery(req)}`, 303);
          // WeChat checks the Referer of the request for mweb_url: this page sends its origin.
          return reply
            .type('text/html; charset=utf-8')
            .header('referrer-policy', 'origin')
            .send(wechatHandoffPage({ ...(await headFor(c, req)), walletUrl: order.redirect_url }));
        }
        const presentation = await checkouts.presentationOf(order);
        if (order.mode === 'jsapi' && presentation.jsapiParams) {
          return reply.type('text/html; charset=utf-8').send(
            jsapiPage({
              ...(await headFor(c, req)),
              params: presentation.jsapiParams,
              statusUrl: `/c/${c.token}/status`,
            }),
          );
        }
        if (order.redirect_url) return reply.redirect(order.redirect_url, 303);
        if (presentation.page) return reply.type('text/html; charset=utf-8').send(presentation.page.html);
        if (order.qr_code) return reply.redirect(order.qr_code, 303);
        return reply.redirect(`/c/${c.token}`, 303);
      },
    );

    // What a waiting page polls: the checkout's state, nothing more.
    // A waiting page polls about once a second for as long as the customer takes: its own,
    // looser limit, so waiting never runs into the page limit.
    pages.get(
      '/c/:token/status',
      { config: { rateLimit: { max: 600, timeWindow: 60_000 } } },
      async (req: TokenReq, reply) => {
        void reply.header('cache-control', 'no-store');
        const c = await checkouts.get(req.params.token);
        if (!c) return reply.status(404).send({ error: { code: 'checkout_not_found', message: 'No such checkout' } });
        return {
          status: c.status,
          amount_minor: c.amountMinor,
          currency: c.currency,
          expires_at: c.expiresAt,
          ...(c.payment ? { channel: c.payment.channel } : {}),
        };
      },
    );

    // Online banking, chosen on the chooser. The amount is the checkout's; anything the
    // form carries besides is ignored.
    pages.post('/c/:token/bank', async (req: TokenReq, reply) => {
      const c = await open(req, reply);
      if (!c) return reply;
      // The quote the chooser showed, when it is still good; the FX service refuses one that
      // is not this merchant's or not for this amount, and a fresh one is taken instead.
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const quoteId =
        typeof body.quote_id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(body.quote_id) ? body.quote_id : undefined;
      let started;
      try {
        started = await checkouts.startPayment(c, { channel: 'bank', mode: 'bank', clientIp: req.ip, quoteId });
      } catch (err) {
        if (
          !quoteId ||
          !isKauriError(err) ||
          !['quote_expired', 'invalid_request', 'not_found', 'rate_stale'].includes(err.code)
        )
          throw err;
        started = await checkouts.startPayment(c, { channel: 'bank', mode: 'bank', clientIp: req.ip });
      }
      return reply.redirect(`/c/${c.token}/pay/${started.order.id}`, 303);
    });

    // Back from WeChat H5 or Alipay's mobile cashier. Only this bridge's own phone-browser
    // payments have a return page, and it links on only to the checkout or to a merchant
    // page on the merchant's allowed domains: it never redirects anywhere by itself.
    pages.get('/r/:order', async (req: FastifyRequest<{ Params: { order: string } }>, reply) => {
      void reply.header('cache-control', 'no-store');
      const lang = langOf(req);
      const notFound = () =>
        reply
          .status(404)
          .type('text/html; charset=utf-8')
          .send(statusPage({ lang, merchantName: 'Kauri' }, 'not_found'));
      if (!/^pay_[A-Za-z0-9]{10,40}$/.test(req.params.order)) return notFound();
      const known = await deps.orders.byId(req.params.order);
      if (!known || !PHONE_BROWSER_MODES.includes(known.mode as PaymentMode)) return notFound();
      const back = await checkouts.checkReturn(known.id);
      if (!back) return notFound();
      const merchant = await accounts.getMerchant(back.order.merchant_id);
      const store = back.order.store_id ? await accounts.getStore(back.order.store_id) : undefined;
      const merchantUrl = back.checkout?.returnUrl ?? back.order.return_url;
      let safeMerchantUrl: string | null = null;
      if (merchantUrl && merchant) {
        try {
          safeMerchantUrl = assertAllowedUrl(merchantUrl, merchant.allowed_domains, 'return_url').toString();
        } catch {
          safeMerchantUrl = null;
        }
      }
      const retry =
        back.checkout && back.checkout.status === 'open' ? `/c/${back.checkout.token}${langQuery(req)}` : null;
      return reply.type('text/html; charset=utf-8').send(
        returnPage({
          lang,
          merchantName: merchant?.name ?? '',
          storeName: store?.name ?? null,
          amount: money(back.order.amount_minor, back.order.currency),
          state: back.state,
          checkUrl: `/r/${back.order.id}${langQuery(req)}`,
          retryUrl: retry,
          merchantUrl: safeMerchantUrl,
        }),
      );
    });

    // The store sticker.
    const storeFor = async (code: string) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(code)) return undefined;
      return accounts.getStoreByCode(code);
    };
    const stickerPage = async (
      req: FastifyRequest,
      reply: FastifyReply,
      store: NonNullable<Awaited<ReturnType<typeof storeFor>>>,
      extra: { error?: string; value?: string; status?: number } = {},
    ) => {
      const merchant = await accounts.getMerchant(store.merchant_id);
      const lang = langOf(req);
      return reply
        .status(extra.status ?? 200)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          staticAmountPage({
            lang,
            merchantName: merchant?.name ?? '',
            storeName: store.name,
            otherLangUrl: withLang(req.url, lang === 'zh' ? 'en' : 'zh'),
            max: money(store.max_static_amount_minor, store.currency),
            action: `/s/${store.code}`,
            error: extra.error,
            value: extra.value,
          }),
        );
    };

    pages.get('/s/:code', async (req: FastifyRequest<{ Params: { code: string } }>, reply) => {
      const store = await storeFor(req.params.code);
      if (!store)
        return reply
          .status(404)
          .type('text/html; charset=utf-8')
          .send(statusPage({ lang: langOf(req), merchantName: 'Kauri' }, 'not_found'));
      return stickerPage(req, reply, store);
    });

    pages.post('/s/:code', async (req: FastifyRequest<{ Params: { code: string }; Body: unknown }>, reply) => {
      const store = await storeFor(req.params.code);
      if (!store)
        return reply
          .status(404)
          .type('text/html; charset=utf-8')
          .send(statusPage({ lang: langOf(req), merchantName: 'Kauri' }, 'not_found'));
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
      const raw = typeof body.amount === 'string' ? body.amount.trim() : '';
      const zh = langOf(req) === 'zh';
      let minor: number;
      try {
        if (!/^\d{1,9}(\.\d{1,2})?$/.test(raw)) throw new MoneyError('invalid_amount', 'not a plain amount');
        minor = parseDecimal(raw, store.currency).minor;
      } catch {
        return stickerPage(req, reply, store, {
          status: 400,
          value: raw.slice(0, 20),
          error: zh ? '请输入有效金额，例如 12.50' : 'Enter an amount such as 12.50',
        });
      }
      const max = money(store.max_static_amount_minor, store.currency);
      if (minor <= 0 || minor > max.minor) {
        return stickerPage(req, reply, store, {
          status: 400,
          value: raw,
          error:
            minor <= 0
              ? zh
                ? '金额必须大于零'
                : 'The amount must be more than zero'
              : zh
                ? `金额不能超过 ${format(max)}`
                : `The amount must be at most ${format(max)}`,
        });
      }
      let c: Checkout;
      try {
        c = await checkouts.create(store.merchant_id, {
          amountMinor: minor,
          currency: store.currency,
          storeId: store.id,
          kind: 'static',
        });
      } catch (err) {
        // A merchant HQ turned off takes nothing here: the customer is told so, on the same page.
        if (isKauriError(err) && err.code === 'merchant_disabled')
          return stickerPage(req, reply, store, {
            status: 403,
            value: raw,
            error: zh
              ? '本店目前不接受扫码支付，请向店员咨询'
              : 'This shop is not taking payments here at the moment; please ask at the counter',
          });
        // Above the merchant's maximum per payment (lower than the store's code allows): the
        // customer is told the most they can pay here, on the same page.
        if (!isKauriError(err) || err.code !== 'amount_too_large') throw err;
        const d = err.details as { max_amount_minor?: number; currency?: string } | undefined;
        const most =
          d?.max_amount_minor !== undefined && d.currency ? format(money(d.max_amount_minor, d.currency)) : undefined;
        return stickerPage(req, reply, store, {
          status: 422,
          value: raw,
          error: most
            ? zh
              ? `金额不能超过 ${most}`
              : `The amount must be at most ${most}`
            : zh
              ? '金额超过本店单笔上限'
              : 'The amount is more than this shop takes in one payment',
        });
      }
      return reply.redirect(`/c/${c.token}${langQuery(req)}`, 303);
    });
  });
}

// Drawing a QR code costs more than the rest of the page; a checkout's URL never changes.
const qrCache = new Map<string, string>();
async function qrSvgFor(url: string): Promise<string> {
  const hit = qrCache.get(url);
  if (hit) return hit;
  const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
  if (qrCache.size >= 2000) qrCache.delete(qrCache.keys().next().value!);
  qrCache.set(url, svg);
  return svg;
}

function langOf(req: FastifyRequest): Lang {
  const q = req.query as Record<string, string | undefined> | undefined;
  const accept = req.headers['accept-language'];
  return languageFor({
    userAgent: req.headers['user-agent'],
    acceptLanguage: typeof accept === 'string' ? accept : undefined,
    lang: q?.lang,
  });
}

function withLang(url: string, lang: Lang): string {
  const u = new URL(url, 'http://x');
  u.searchParams.set('lang', lang);
  return `${u.pathname}${u.search}`;
}

function langQuery(req: FastifyRequest): string {
  const q = req.query as Record<string, string | undefined> | undefined;
  return q?.lang === 'zh' || q?.lang === 'en' ? `?lang=${q.lang}` : '';
}
