import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AccountsRepo } from '../../store/accounts.js';
import { SecretBox } from '../../store/secret-box.js';
import type { Store } from '../../store/db.js';
import { FileStore } from '../../files/file-store.js';
import { ChannelRegistry } from '../../channels/channel.js';
import type { Clock } from '../../../protocol/clock.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/stores.js';
import { testOrder } from '../../../test/support/orders.js';
import { OrdersRepo, type Order, type Refund } from '../../store/orders-repo.js';
import { ReconcileService } from './service.js';

// A reconciliation under test: a real database (SQLite or PostgreSQL), one merchant with an
// account on a channel, orders and refunds stored as the bridge stores them, and the real
// ReconcileService (and another, as a second bridge instance on the same database would run).

export const china = (day: string, hhmm: string): number => Date.parse(`${day}T${hhmm}:00+08:00`);
const log = pino({ level: 'silent' });

export interface Harness {
  db: TestDatabase;
  store: Store;
  service: ReconcileService;
  /** Another bridge instance on the same database and file store. */
  another(): ReconcileService;
  merchantId: string;
  accountId: string;
  order(o: {
    id: string;
    channelOrderNo: string;
    amountMinor: number;
    currency?: string;
    status: string;
    paidAtMs: number | null;
    channelTradeNo?: string;
    cnyChargedMinor?: number;
  }): Promise<void>;
  refund(r: {
    id: string;
    orderId: string;
    channelRefundNo: string;
    channelRefundId?: string | null;
    amountMinor: number;
    currency?: string;
    status: string;
    createdAtMs: number;
  }): Promise<void>;
  close(): Promise<void>;
}

export async function harness(kind: 'sqlite' | 'postgres', channel: 'wechat' | 'alipay' | 'bank'): Promise<Harness> {
  const db = await createTestDatabase(kind);
  const store = await db.open();
  const dir = mkdtempSync(join(tmpdir(), 'kauri-recon-files-'));
  const clock: Clock = { now: () => new Date(), duration: (ms) => ms, sleep: async () => undefined };
  const accounts = new AccountsRepo(store, new SecretBox('recon-test-secret-key-0123456789abcdef0123'));
  const m = await accounts.createMerchant({ name: 'Tui Tea' });
  const acct = await accounts.createChannelAccount({
    merchantId: m.id,
    channel,
    config: { mch_id: '1' },
    secrets: { key: 'k' },
  });
  const make = (): ReconcileService =>
    new ReconcileService({
      store,
      accounts,
      channels: new ChannelRegistry(),
      files: new FileStore(dir, store),
      clock,
      log,
      contextFor: (account) => ({
        account,
        clock,
        log,
        notifyUrl: 'http://127.0.0.1/n',
        publicBaseUrl: 'http://127.0.0.1',
        record: async () => undefined,
      }),
    });
  const service = make();
  return {
    another: make,
    db,
    store,
    service,
    merchantId: m.id,
    accountId: acct.id,
    async order(o) {
      const at = new Date((o.paidAtMs ?? Date.now()) - 60_000).toISOString();
      const paid = o.paidAtMs === null ? null : new Date(o.paidAtMs).toISOString();
      const row = testOrder({
        id: o.id,
        merchant_id: m.id,
        channel,
        channel_account_id: acct.id,
        out_trade_no: `M-${o.id}`,
        amount_minor: o.amountMinor,
        currency: o.currency ?? 'NZD',
        status: o.status as Order['status'],
        channel_order_no: o.channelOrderNo,
        channel_trade_no: o.channelTradeNo ?? null,
        cny_charged_minor: o.cnyChargedMinor ?? null,
        created_at: at,
        updated_at: at,
        paid_at: paid,
        channel_paid_at: paid,
      });
      await new OrdersRepo(store).insert(row, 'test');
    },
    async refund(r) {
      const at = new Date(r.createdAtMs).toISOString();
      const row: Refund = {
        id: r.id,
        merchant_id: m.id,
        order_id: r.orderId,
        out_refund_no: `MR-${r.id}`,
        channel_refund_no: r.channelRefundNo,
        channel_refund_id: r.channelRefundId ?? null,
        amount_minor: r.amountMinor,
        currency: r.currency ?? 'NZD',
        status: r.status as Refund['status'],
        reason: null,
        automatic: 0,
        request_hash: 'x',
        created_at: at,
        updated_at: at,
      };
      await store.db.insertInto('refunds').values(row).execute();
    },
    async close() {
      await store.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
