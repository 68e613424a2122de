import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { startSim, startWorld, UA, type Sim, type World } from './onecode-support.js';

// The OpenAPI description the bridge serves, checked against what the bridge really
// answers: every response below must validate against the schema the document gives for
// its path, method and status, and carry no field the document does not name.

type Json = Record<string, any>;

describe('OpenAPI description of the merchant API', () => {
  let alipay: Sim;
  let w: World;
  let doc: Json;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const checked = new Set<string>();

  beforeAll(async () => {
    alipay = await startSim('alipay', { KAURI_TIME_SCALE: '10' });
    w = await startWorld({ alipay }, { timeScale: 5 });
    const res = await fetch(`${w.bridge.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    doc = await res.json();
  }, 120_000);
  afterAll(async () => {
    await w?.stop();
    await alipay?.stop();
  });

  /** Fields in the data that the schema does not declare (the document would be lying by omission). */
  function undeclared(schema: Json, data: unknown, at = '$'): string[] {
    if (Array.isArray(data)) return data.flatMap((d, i) => undeclared(schema.items ?? {}, d, `${at}[${i}]`));
    if (data === null || typeof data !== 'object') return [];
    const variants: Json[] = schema.anyOf ?? schema.oneOf ?? schema.allOf ?? [schema];
    const props: Json = Object.assign({}, ...variants.map((v) => v.properties ?? {}));
    return Object.entries(data as Json).flatMap(([k, v]) =>
      props[k] ? undeclared(props[k], v, `${at}.${k}`) : [`${at}.${k}`],
    );
  }

  async function call(
    method: string,
    template: string,
    path: string,
    body?: unknown,
    key?: string,
  ): Promise<{ status: number; body: any }> {
    const res = await fetch(w.bridge.url + path, {
      method,
      headers: {
        authorization: `Bearer ${key ?? w.seed.apiKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    const op = doc.paths?.[template]?.[method.toLowerCase()];
    expect(op, `${method} ${template} is in the document`).toBeDefined();
    const schema = op.responses?.[String(res.status)]?.content?.['application/json']?.schema;
    expect(schema, `${method} ${template} documents status ${res.status}`).toBeDefined();
    const validate = ajv.compile(schema);
    expect(
      validate(json),
      `${method} ${template} ${res.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(json)}`,
    ).toBe(true);
    expect(undeclared(schema, json), `${method} ${template} ${res.status}`).toEqual([]);
    checked.add(`${method} ${template} ${res.status}`);
    return { status: res.status, body: json };
  }

  it('describes the merchant API only, with bearer authentication and the request bodies', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.servers).toEqual([{ url: w.bridge.url }]);
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.paths).every((p) => p.startsWith('/api/v1/'))).toBe(true);
    for (const p of [
      '/api/v1/checkouts',
      '/api/v1/checkouts/{token}',
      '/api/v1/payments',
      '/api/v1/payments/{out_trade_no}/refunds',
      '/api/v1/webhook',
      '/api/v1/webhook/deliveries/{id}/redeliver',
    ]) {
      expect(doc.paths[p], p).toBeDefined();
    }
    const create = doc.paths['/api/v1/checkouts'].post.requestBody.content['application/json'].schema;
    expect(create.required).toEqual(expect.arrayContaining(['amount_minor', 'currency']));
    expect(create.properties.amount_minor.type).toBe('integer');
    expect(doc.paths['/c/{token}']).toBeUndefined();
  });

  it('checkout responses match the document: created, paid with its payment, listed, cancelled, errors', async () => {
    const created = await call('POST', '/api/v1/checkouts', '/api/v1/checkouts', {
      amount_minor: 1550,
      currency: 'NZD',
      store: w.seed.storeCode,
      reference: 'INV-42',
      description: 'Tuition 学费',
    });
    expect(created.status).toBe(201);
    // Pay it with Alipay, as a customer's phone would.
    const scan = await fetch(created.body.url, { redirect: 'manual', headers: { 'user-agent': UA.alipay } });
    expect(scan.status).toBe(302);
    expect((await alipay.control('/sim/pay', { qr_code: scan.headers.get('location') })).status).toBe(200);
    const paid = await w.waitForCheckout(created.body.token, (c) => c.status === 'paid');
    expect(paid.payment.status).toBe('paid');
    await call('GET', '/api/v1/checkouts/{token}', `/api/v1/checkouts/${created.body.token}`);
    await call('GET', '/api/v1/checkouts/{token}', `/api/v1/checkouts/${created.body.id}`);
    await call('GET', '/api/v1/checkouts/{token}/payments', `/api/v1/checkouts/${created.body.token}/payments`);
    await call('GET', '/api/v1/checkouts', '/api/v1/checkouts?limit=5');
    const open = await call('POST', '/api/v1/checkouts', '/api/v1/checkouts', {
      amount_minor: 200,
      currency: 'NZD',
      allowed_channels: ['alipay'],
      expires_in_s: 600,
      return_url: 'http://127.0.0.1:8080/done',
    });
    expect(
      (await call('POST', '/api/v1/checkouts/{token}/cancel', `/api/v1/checkouts/${open.body.token}/cancel`)).body
        .status,
    ).toBe('cancelled');
    expect(
      (await call('POST', '/api/v1/checkouts/{token}/cancel', `/api/v1/checkouts/${created.body.token}/cancel`)).status,
    ).toBe(409);
    expect((await call('GET', '/api/v1/checkouts/{token}', '/api/v1/checkouts/AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(
      404,
    );
    expect(
      (await call('POST', '/api/v1/checkouts', '/api/v1/checkouts', { amount_minor: -1, currency: 'NZD' })).status,
    ).toBe(400);
    expect((await call('GET', '/api/v1/checkouts', '/api/v1/checkouts', undefined, 'kauri_sk.nope.nope')).status).toBe(
      401,
    );
  });

  it('payment and refund responses match the document', async () => {
    const no = `oa${Date.now()}`;
    const created = await call('POST', '/api/v1/payments', '/api/v1/payments', {
      out_trade_no: no,
      amount_minor: 880,
      currency: 'NZD',
      channel: 'alipay',
      mode: 'precreate',
    });
    expect(created.body.qr_code).toBeDefined();
    expect((await alipay.control('/sim/pay', { qr_code: created.body.qr_code })).status).toBe(200);
    for (
      let i = 0;
      i < 200 &&
      (await call('GET', '/api/v1/payments/{out_trade_no}', `/api/v1/payments/${no}`)).body.status !== 'paid';
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    await call('GET', '/api/v1/payments', '/api/v1/payments?limit=3');
    const refund = await call('POST', '/api/v1/payments/{out_trade_no}/refunds', `/api/v1/payments/${no}/refunds`, {
      out_refund_no: `${no}r`,
      amount_minor: 100,
      reason: 'broken',
    });
    expect(refund.status).toBe(201);
    await call('GET', '/api/v1/payments/{out_trade_no}/refunds', `/api/v1/payments/${no}/refunds`);
    const other = `oc${Date.now()}`;
    await call('POST', '/api/v1/payments', '/api/v1/payments', {
      out_trade_no: other,
      amount_minor: 100,
      currency: 'NZD',
      channel: 'alipay',
      mode: 'precreate',
    });
    expect(
      (await call('POST', '/api/v1/payments/{out_trade_no}/close', `/api/v1/payments/${other}/close`)).body.status,
    ).toBe('closed');
    expect((await call('GET', '/api/v1/payments/{out_trade_no}', '/api/v1/payments/nope')).status).toBe(404);
  });

  it('webhook responses match the document', async () => {
    const set = await call('PUT', '/api/v1/webhook', '/api/v1/webhook', { url: 'http://127.0.0.1:9/hook' });
    expect(set.body.secret).toMatch(/^whsec_/);
    await call('GET', '/api/v1/webhook', '/api/v1/webhook');
    const c = (await w.api('POST', '/api/v1/checkouts', { amount_minor: 300, currency: 'NZD' })).body;
    await w.api('POST', `/api/v1/checkouts/${c.token}/cancel`);
    let list: any;
    for (let i = 0; i < 100; i++) {
      list = await call('GET', '/api/v1/webhook/deliveries', '/api/v1/webhook/deliveries');
      if (list.body.data.length && list.body.data[0].attempts > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const id = list.body.data[0].id;
    await call('GET', '/api/v1/webhook/deliveries/{id}', `/api/v1/webhook/deliveries/${id}`);
    await call('POST', '/api/v1/webhook/deliveries/{id}/redeliver', `/api/v1/webhook/deliveries/${id}/redeliver`);
    expect((await call('PUT', '/api/v1/webhook', '/api/v1/webhook', { url: 'https://evil.example/' })).status).toBe(
      400,
    );
    expect(checked.size).toBeGreaterThanOrEqual(20);
  });
});
