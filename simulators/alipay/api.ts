import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { rawBody } from '../common/server.js';
import { dailyFile, parseFileName } from './files.js';
import type { AlipayGateway, GatewayAnswer } from './gateway.js';
import { cashierPage, messagePage } from './pages.js';

// Alipay's public surface: `/gateway.do` (GET for the browser redirect services, POST for
// server calls), the cashier and qr_code pages, and the daily files (which Alipay puts
// on SFTP; here the same folder is served over HTTP with Basic auth partner:key).

export function originOf(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? req.hostname}`;
}

function send(reply: FastifyReply, a: GatewayAnswer): FastifyReply {
  switch (a.type) {
    case 'xml':
      return reply.type(`text/xml; charset=${a.charset}`).send(a.body);
    case 'text':
      return reply.type('text/plain; charset=UTF-8').send(a.body);
    case 'redirect':
      return reply.redirect(a.location, 302);
    case 'html':
      return reply.code(a.status).type('text/html; charset=utf-8').send(messagePage(a.title, a.message));
  }
}

/** The `service=` of a request (query or form body), for faults targeted by service. */
export function serviceOf(req: FastifyRequest): string | undefined {
  const q = req.url.split('?')[1] ?? '';
  const b = Buffer.isBuffer(req.body) ? req.body.toString('latin1') : '';
  for (const s of [q, b]) {
    const m = /(?:^|&)service=([^&]*)/.exec(s);
    if (m) return decodeURIComponent(m[1]!.replace(/\+/g, ' '));
  }
  return undefined;
}

export function registerAlipayApi(app: FastifyInstance, gw: AlipayGateway): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const answer = gw.handle({
      method: req.method,
      query: req.url.split('?')[1] ?? '',
      body: rawBody(req),
      origin: originOf(req),
      fault: req.simFault,
    });
    return send(reply, answer);
  };
  app.get('/gateway.do', handler);
  app.post('/gateway.do', handler);

  const page = async (req: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply) => {
    const t = gw.data.trades.find((x) => x.token === req.params.token);
    if (!t)
      return reply
        .code(404)
        .type('text/html; charset=utf-8')
        .send(messagePage('Order not found', 'This payment link is not known to Alipay.'));
    try {
      gw.findForSim({ token: t.token }); // closes it if its time is up
    } catch {
      /* found above */
    }
    return reply
      .type('text/html; charset=utf-8')
      .send(
        cashierPage(
          t,
          gw.merchants.get(t.partner)?.name ?? t.partner,
          t.rate ?? gw.data.rates[t.trans_currency] ?? '1',
        ),
      );
  };
  app.get('/cashier/:token', page);
  app.get('/qr/:token', page);

  // big_pic_url / pic_url / small_pic_url: the qr_code drawn as a PNG.
  app.get('/qr-image', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const t = gw.data.trades.find((x) => x.token === q.code);
    if (!t) return reply.code(404).type('text/plain').send('No such code');
    const width = q.picSize === 'L' ? 600 : q.picSize === 'S' ? 150 : 300;
    return reply.type('image/png').send(await QRCode.toBuffer(`${originOf(req)}/qr/${t.token}`, { width }));
  });

  app.get(
    '/files/:partner/:name',
    async (req: FastifyRequest<{ Params: { partner: string; name: string } }>, reply) => {
      const m = gw.merchants.get(req.params.partner);
      const auth = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      const [user, pass] = auth ? Buffer.from(auth[1]!, 'base64').toString('utf8').split(':') : [];
      const ok =
        m &&
        user === m.partner &&
        pass !== undefined &&
        pass.length === m.md5Key.length &&
        timingSafeEqual(Buffer.from(pass), Buffer.from(m.md5Key));
      if (!ok)
        return reply
          .code(401)
          .header('www-authenticate', 'Basic realm="alipay-files"')
          .type('text/plain')
          .send('Permission denied');
      const f = parseFileName(req.params.name);
      if (!f || f.partner !== m.partner) return reply.code(404).type('text/plain').send('No such file');
      const file = dailyFile(gw, f.partner, f.kind, f.day);
      if (!file.ok) return reply.code(404).type('text/plain').send(`No such file: ${file.reason}`);
      return reply.type('text/plain; charset=UTF-8').send(file.body);
    },
  );
}
