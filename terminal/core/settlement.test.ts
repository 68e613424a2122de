import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../../protocol/clock.js';
import { newId } from '../../protocol/ids.js';
import { Counter } from './counter.js';
import { LINK_VERSION, type EventMessage } from '../../protocol/link.js';

// Refunds of the counter's sales made elsewhere reach it as link events; no bridge is needed
// to apply them. The close of the day and device health against a bridge process are in
// test/e2e/terminal-settlement.test.ts.

describe("refunds of the counter's sales made elsewhere", () => {
  it('are kept when their event arrives, so the next report counts them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-close-'));
    const counter = new Counter({ dataDir: dir, clock: systemClock(1), log: pino({ level: 'silent' }) });
    try {
      const now = new Date().toISOString();
      const outTradeNo = `K${newId()}`;
      counter.db.insertSale({
        id: newId('sale'),
        kind: 'scan',
        out_trade_no: outTradeNo,
        checkout_id: null,
        checkout_url: null,
        channel: 'alipay',
        amount_minor: 5000,
        currency: 'NZD',
        status: 'paid',
        refunded_minor: 0,
        cny_charged_minor: null,
        rate: null,
        payment_id: 'pay_1',
        channel_trade_no: null,
        message: null,
        expires_at: null,
        cancel_requested: 0,
        created_at: now,
        updated_at: now,
        paid_at: now,
      });
      const event: EventMessage = {
        v: LINK_VERSION,
        type: 'event',
        seq: 1,
        event: 'refund.succeeded',
        at: now,
        payload: {
          refund: {
            id: 'ref_1',
            out_refund_no: 'api-refund-1',
            amount_minor: 1500,
            currency: 'NZD',
            status: 'succeeded',
            automatic: false,
          },
          payment: {
            id: 'pay_1',
            out_trade_no: outTradeNo,
            channel: 'alipay',
            status: 'partially_refunded',
            amount_minor: 5000,
            currency: 'NZD',
            refunded_minor: 1500,
            created_at: now,
          },
        },
      };
      (counter as unknown as { onEvent(m: EventMessage): void }).onEvent(event);
      (counter as unknown as { onEvent(m: EventMessage): void }).onEvent(event); // replayed after a reconnect: applied once
      expect(counter.db.refund('api-refund-1')).toMatchObject({ amount_minor: 1500, status: 'succeeded' });
      expect(counter.buildSettlement('X').channels).toEqual([
        { channel: 'alipay', count: 1, grossMinor: 5000, refundCount: 1, refundsMinor: 1500, netMinor: 3500 },
      ]);
    } finally {
      counter.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
