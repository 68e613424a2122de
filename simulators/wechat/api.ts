import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientCertificate, rawBody } from '../common/server.js';
import { BizError, ReturnError, signTypeOf, type Fields, type WechatGateway } from './gateway.js';
import type { Merchant } from './merchants.js';
import { sign, verify, type SignType } from './sign.js';
import { buildWechatXml, parseWechatXml, XmlInputError } from './xml.js';

// The WeChat Pay v2 wire: every call is a POST of one <xml> document (read whatever
// the Content-Type says), checked in the order WeChat does — format, merchant,
// signature, client certificate — and answered with a signed <xml> envelope:
// return_code says whether the request was understood, result_code whether the
// business succeeded.

type Handler = (m: Merchant, f: Fields, signType: SignType, origin: string) => Fields;

const RETURN_MSG: Record<XmlInputError['code'], string> = {
  XML_FORMAT_ERROR: 'XML格式错误',
  NOT_UTF8: '编码格式错误',
  POST_DATA_EMPTY: 'post数据为空',
};

function fail(reply: FastifyReply, returnMsg: string): FastifyReply {
  return reply
    .code(200)
    .type('text/xml; charset=utf-8')
    .send(buildWechatXml({ return_code: 'FAIL', return_msg: returnMsg }));
}

export interface ApiOptions {
  /** Require a client certificate issued to the merchant on /secapi/* (with --tls). */
  requireClientCert: boolean;
}

export function registerWechatApi(app: FastifyInstance, gw: WechatGateway, opts: ApiOptions): void {
  const routes: Record<string, Handler> = {
    '/pay/unifiedorder': (m, f, t, origin) => gw.unifiedOrder(m, f, t, origin),
    '/pay/micropay': (m, f, t) => gw.micropay(m, f, t),
    '/pay/orderquery': (m, f) => gw.orderQuery(m, f),
    '/secapi/pay/reverse': (m, f) => gw.reverse(m, f),
    '/pay/closeorder': (m, f) => gw.closeOrder(m, f),
    '/secapi/pay/refund': (m, f) => gw.refund(m, f),
    '/pay/refundquery': (m, f) => gw.refundQuery(m, f),
    '/pay/queryexchagerate': (m, f) => gw.queryRate(m, f),
  };

  /** Parse, find the merchant, verify the signature and the certificate; undefined when already answered. */
  function admit(
    req: FastifyRequest,
    reply: FastifyReply,
    path: string,
  ): { m: Merchant; f: Fields; signType: SignType } | undefined {
    if (path.startsWith('/secapi/') && opts.requireClientCert) {
      const cert = clientCertificate(req);
      if (!cert) {
        fail(reply, '请求未携带有效的商户API证书 (a client certificate issued for this merchant is required)');
        return undefined;
      }
      // Checked against mch_id below, once the body is read.
      (req as FastifyRequest & { certCN?: string }).certCN = String(cert.subject.CN ?? '');
    }
    let f: Fields;
    try {
      f = parseWechatXml(rawBody(req));
    } catch (err) {
      if (err instanceof XmlInputError) {
        req.log.info({ path, err: err.message }, 'refused body');
        fail(reply, RETURN_MSG[err.code]);
        return undefined;
      }
      throw err;
    }
    if (!f.mch_id) {
      fail(reply, '缺少参数 mch_id (missing mch_id)');
      return undefined;
    }
    const m = gw.merchants.get(f.mch_id);
    if (!m) {
      fail(reply, 'mch_id参数错误 (MCHID_NOT_EXIST: unknown merchant)');
      return undefined;
    }
    const signType = signTypeOf(f);
    if (!signType) {
      fail(reply, 'sign_type参数错误 (MD5 or HMAC-SHA256)');
      return undefined;
    }
    if (!verify(f, m.key, signType)) {
      req.log.info({ path, mch_id: f.mch_id, sign_type: signType }, 'signature check failed');
      fail(reply, '签名错误');
      return undefined;
    }
    const certCN = (req as FastifyRequest & { certCN?: string }).certCN;
    if (certCN !== undefined && certCN !== m.mch_id) {
      fail(reply, `证书与商户号不匹配 (the client certificate was issued to ${certCN}, not ${m.mch_id})`);
      return undefined;
    }
    return { m, f, signType };
  }

  function answer(
    req: FastifyRequest,
    reply: FastifyReply,
    m: Merchant,
    f: Fields,
    signType: SignType,
    body: Fields,
    withResult: boolean,
  ) {
    const fields: Fields = {
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: m.appid,
      mch_id: m.mch_id,
      ...(f.sub_mch_id ? { sub_mch_id: f.sub_mch_id } : {}),
      ...(f.sub_appid ? { sub_appid: f.sub_appid } : {}),
      ...(f.device_info ? { device_info: f.device_info } : {}),
      ...(withResult ? { nonce_str: randomBytes(16).toString('hex') } : {}),
      ...body,
    };
    for (const k of Object.keys(fields)) if (fields[k] === '') delete fields[k];
    fields.sign = sign(fields, m.key, signType);
    if (req.simFault?.kind === 'bad-signature') {
      fields.sign = fields.sign.slice(0, -4) + (fields.sign.endsWith('0000') ? '1111' : '0000');
    }
    return reply.code(200).type('text/xml; charset=utf-8').send(buildWechatXml(fields));
  }

  for (const [path, handler] of Object.entries(routes)) {
    app.post(path, async (req, reply) => {
      const admitted = admit(req, reply, path);
      if (!admitted) return reply;
      const { m, f, signType } = admitted;
      const rateQuery = path === '/pay/queryexchagerate';
      if (!rateQuery && !f.nonce_str) return fail(reply, '缺少参数 nonce_str (missing nonce_str)');
      if (!rateQuery && f.appid !== m.appid && f.appid !== undefined) {
        return answer(
          req,
          reply,
          m,
          f,
          signType,
          { result_code: 'FAIL', err_code: 'APPID_MCHID_NOT_MATCH', err_code_des: 'appid和mch_id不匹配' },
          true,
        );
      }
      if (!rateQuery && !f.appid) return fail(reply, '缺少参数 appid (missing appid)');
      let body: Fields;
      try {
        body = {
          result_code: 'SUCCESS',
          ...handler(m, f, signType, `${req.protocol}://${req.headers.host ?? req.hostname}`),
        };
      } catch (err) {
        if (err instanceof ReturnError) return fail(reply, err.returnMsg);
        if (err instanceof BizError) {
          if (rateQuery) return fail(reply, err.des);
          body = { result_code: 'FAIL', err_code: err.errCode, err_code_des: err.des, ...err.extra };
        } else throw err;
      }
      if (req.simFault?.kind === 'unknown') {
        // The call took effect, but the caller is told only that the system timed out.
        body = {
          result_code: 'FAIL',
          err_code: 'SYSTEMERROR',
          err_code_des: '系统超时 (system error; query the order)',
        };
        if (path === '/secapi/pay/reverse') body.recall = 'Y';
      }
      if (rateQuery) delete body.result_code;
      return answer(req, reply, m, f, signType, body, !rateQuery);
    });
  }

  app.post('/pay/downloadbill', async (req, reply) => {
    const admitted = admit(req, reply, '/pay/downloadbill');
    if (!admitted) return reply;
    const { m, f } = admitted;
    let res: ReturnType<WechatGateway['downloadBill']>;
    try {
      res = gw.downloadBill(m, f);
    } catch (err) {
      if (err instanceof BizError || err instanceof ReturnError)
        return fail(reply, err instanceof BizError ? err.des : err.returnMsg);
      throw err;
    }
    if ('error' in res) {
      return reply
        .code(200)
        .type('text/xml; charset=utf-8')
        .send(buildWechatXml({ return_code: 'FAIL', return_msg: res.error, error_code: res.errorCode }));
    }
    if (f.tar_type === 'GZIP') return reply.code(200).type('application/octet-stream').send(gzipSync(res.text));
    return reply.code(200).type('text/plain; charset=utf-8').send(res.text);
  });

  // WeChat answers other methods on its API paths with an error document, not a 404.
  for (const path of [...Object.keys(routes), '/pay/downloadbill']) {
    app.get(path, async (_req, reply) => fail(reply, '请使用post方法 (REQUIRE_POST_METHOD)'));
  }
}
