import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeForm, encodeForm } from './form.js';
import { startBankSim, type BankSim } from './server.js';
import { hmacMd5 } from './sign.js';

// The simulator's messages have the shape of the real ones in test/fixtures/wire/bank
// (SOURCES.md): the same fields in the same order, the same XML declaration and layout
// (no whitespace between elements), the same charset. Values differ (another key, other times).

const DIR = join(import.meta.dirname, '../../test/fixtures/wire/bank');
const fixture = (name: string) => readFileSync(join(DIR, name));
const KEY = 'Xke1a0TqZE2Q8ku943LgC425247y3zuu09vLh78S4U0142rp60h3s6egNY3j';
const MID = '10012150139';
const OID = '20140424-10012150139-201405120018316114';
const OID2 = '20140424-10012150139-201405120018316115';

/** Declaration, element sequence and layout of an XML answer; values left out. */
function xmlShape(body: Buffer) {
  const text = body.toString('latin1');
  return {
    declaration: /^<\?xml[^>]*\?>/.exec(text)?.[0],
    elements: [...text.matchAll(/<(\/?[A-Za-z_][\w.-]*)>/g)].map((m) => m[1]),
    whitespaceBetweenElements: />\s+</.test(text),
  };
}

const names = (body: Buffer | string) => Object.keys(decodeForm(body));

let sim: BankSim;
let receiver: Server;
const notifies: Buffer[] = [];

async function post(path: string, body: Buffer | string, charset = 'gbk') {
  const res = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': `application/x-www-form-urlencoded; charset=${charset}` },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: Buffer.from(await res.arrayBuffer()),
  };
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      notifies.push(Buffer.concat(chunks));
      res.end('sent');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const notifyUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notify`;
  sim = await startBankSim({
    port: 0,
    merchants: [{ v_mid: MID, key: KEY, notifyUrl }],
    log: pino({ level: 'silent' }),
  });
});
afterAll(async () => {
  await sim?.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

describe("the bank simulator speaks in the corpus's shapes", () => {
  it('takes the real-shaped payment form, returns the browser and notifies as the fixtures show', async () => {
    expect((await post('/prs/user_payment.checkit', fixture('payment-form.request.txt'))).status).toBe(200);
    const f2: Record<string, string> = {
      ...decodeForm(fixture('payment-form.request.txt')),
      v_oid: OID2,
      v_amount: '2.00',
    };
    f2.v_md5info = hmacMd5(
      KEY,
      f2.v_moneytype! + f2.v_ymd! + f2.v_amount! + f2.v_rcvname! + f2.v_oid! + f2.v_mid! + f2.v_url!,
    );
    expect((await post('/prs/user_payment.checkit', encodeForm(f2))).status).toBe(200);
    const paid = sim.gateway.settle(OID, 'pay', '招商银行');
    sim.gateway.settle(OID2, 'fail', '中国工商银行');
    const ret = sim.gateway.returnUrl(paid);
    // v_url carries its own query (pay_system, hallid): the gateway's fields follow it.
    expect(names(new URL(ret).search.slice(1)).filter((k) => k.startsWith('v_'))).toEqual(
      names(fixture('browser-return.query.txt')),
    );
    sim.gateway.flushBatches();
    for (let i = 0; i < 100 && notifies.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(names(notifies[0]!)).toEqual(names(fixture('notify.request.txt')));
    const n = decodeForm(notifies[0]!);
    expect(n.v_count).toBe('2');
    expect(n.v_pmode).toBe('招商银行|_|中国工商银行');
  });

  it('answers the order query in the captured layout, found and not found', async () => {
    const found = await post('/merchant/order/order_ack_oid_list.jsp', fixture('query.request.txt'));
    expect(found.type).toMatch(/charset=gb2312/i);
    expect(xmlShape(found.body)).toEqual(xmlShape(fixture('query.response.xml')));
    const missing = '20140424-10012150139-201405120018316116';
    const none = await post(
      '/merchant/order/order_ack_oid_list.jsp',
      encodeForm({ v_mid: MID, v_oid: missing, v_mac: hmacMd5(KEY, MID + missing) }),
    );
    expect(xmlShape(none.body)).toEqual(xmlShape(fixture('query-not-found.response.xml')));
  });

  it("answers a refund and the refund list in the fixtures' layout and charset", async () => {
    const refund = await post('/merchant/refund/ref_ack_submit.jsp', fixture('refund.request.txt'));
    expect(xmlShape(refund.body)).toEqual(xmlShape(fixture('refund.response.xml')));
    expect(refund.body.toString('latin1')).toContain('<status>0</status>');
    const list = await post('/merchant/refund/ref_ack_oid_list_utf8.jsp', fixture('refund-list.request.txt'), 'utf-8');
    expect(list.type).toMatch(/charset=utf-8/i);
    expect(xmlShape(list.body)).toEqual(xmlShape(fixture('refund-list.response.xml')));
    expect(list.body.toString('utf8')).toContain('<refreason>R1 退货</refreason>');
  });
});
