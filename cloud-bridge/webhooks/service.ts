import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import type { EventLog, DomainEvent } from '../events/event-log.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { AccountsRepo } from '../store/accounts.js';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { SecretBox } from '../store/secret-box.js';
import { WebhooksRepo, type Delivery, type DeliveryAttempt } from './repo.js';
import { auditInsert, type AuditEntry } from '../hq/audit.js';
import { assertAllowedUrl } from '../onecode/checkouts.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './verify-signature.js';
import {
  assertWebhookUrlShape,
  checkDestination,
  pinnedAgent,
  shortCause,
  systemResolver,
  type Resolver,
} from './destination.js';

// Merchant webhooks. Each merchant with a webhook URL is a reader of the domain event log
// with its own cursor; every event of theirs becomes a delivery row, and a scheduler task
// posts it, signed, until the receiver answers 2xx: exponential backoff for more than a
// day (18 attempts). Deliveries, tasks and cursors are rows in the store, so a restart (or
// another bridge instance) carries on where this one stopped, and nothing is lost.

export const DELIVER_TASK = 'webhook.deliver';
const FANOUT_JOB = 'webhooks.fanout';
export const MAX_ATTEMPTS = 18;
const FIRST_RETRY_MS = 10_000;
const MAX_RETRY_MS = 6 * 3600_000;
const TIMEOUT_MS = 10_000;
const DELIVERABLE = /^(payment|refund|checkout|static_code|payout)\./;
/** Manual redelivery: one per delivery this often, and this many per merchant a minute (counted in the database, so across instances). */
const REDELIVER_SAME_MS = 10_000;
const REDELIVER_PER_MINUTE = 20;

/** Protocol delay before attempt `failed + 1` (unscaled): 10 s, 20 s, 40 s, … capped at 6 h. */
export function retryDelayMs(failedAttempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failedAttempts - 1), MAX_RETRY_MS);
}

export type { Delivery, DeliveryAttempt } from './repo.js';

export interface WebhookServiceDeps {
  store: Store;
  box: SecretBox;
  accounts: AccountsRepo;
  events: EventLog;
  scheduler: Scheduler;
  clock: Clock;
  log: Logger;
  /** Host name → addresses at delivery time (default: the system resolver). */
  resolve?: Resolver;
}

export class WebhookService {
  private fanning: Promise<void> | undefined;
  private again = false;
  private readonly unsubscribe: () => void;
  private readonly repo: WebhooksRepo;

  constructor(private readonly deps: WebhookServiceDeps) {
    this.repo = new WebhooksRepo(deps.store, deps.clock);
    deps.scheduler.defineTask<{ deliveryId: string }>(DELIVER_TASK, (p) => this.deliverTask(p.deliveryId), {
      maxAttempts: MAX_ATTEMPTS,
      backoffMs: retryDelayMs,
    });
    // The periodic pass catches events appended by other instances (and anything missed).
    deps.scheduler.every(FANOUT_JOB, 2_000, () => this.fanout());
    this.unsubscribe = deps.events.onAppend(() => this.wake());
  }

  close(): void {
    this.unsubscribe();
  }

  /**
   * Sets the merchant's webhook URL and returns a new signing secret (shown once). `audit`,
   * the back office's entry of who set it, commits in the same transaction as the endpoint.
   */
  async setEndpoint(merchantId: string, url: string, audit?: AuditEntry): Promise<{ url: string; secret: string }> {
    const merchant = await this.deps.accounts.getMerchant(merchantId);
    if (!merchant) throw new KauriError('not_found', `No merchant "${merchantId}"`);
    assertWebhookUrlShape(
      assertAllowedUrl(url, merchant.allowed_domains, 'url'),
      merchant.allow_private_webhooks === 1,
    );
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const sealed = this.deps.box.seal(secret);
    // A merchant hears of events from the moment the webhook is set, not the whole history.
    const reader = readerOf(merchantId);
    if (!(await this.deps.events.hasCursor(reader)))
      await this.deps.events.advance(reader, await this.deps.events.head());
    await this.repo.transaction(async (trx) => {
      await this.repo.upsertEndpoint(merchantId, url, sealed, trx);
      if (audit) await auditInsert(trx, audit, this.deps.clock.now()).execute();
    });
    return { url, secret };
  }

  async getEndpoint(merchantId: string): Promise<{ url: string; created_at: string; updated_at: string }> {
    const row = await this.repo.endpoint(merchantId);
    if (!row) throw new KauriError('webhook_not_set', 'No webhook URL is set: PUT /api/v1/webhook {"url"} first');
    return { url: row.url, created_at: row.created_at, updated_at: row.updated_at };
  }

  private wake(): void {
    if (this.fanning) {
      this.again = true;
      return;
    }
    this.fanning = (async () => {
      do {
        this.again = false;
        try {
          await this.fanout();
        } catch (err) {
          this.deps.log.warn({ err }, 'webhook fan-out failed; the periodic pass retries');
        }
      } while (this.again);
    })().finally(() => {
      this.fanning = undefined;
    });
  }

  /** Turns new events of every merchant with a webhook into deliveries. Safe to run anywhere, any time. */
  async fanout(): Promise<void> {
    const endpoints = await this.repo.endpoints();
    for (const ep of endpoints) {
      const reader = readerOf(ep.merchant_id);
      for (;;) {
        const cursor = await this.deps.events.cursor(reader);
        const batch = await this.deps.events.read(cursor, { merchantId: ep.merchant_id, limit: 200 });
        if (!batch.length) break;
        for (const e of batch) if (DELIVERABLE.test(e.type)) await this.queue(ep.merchant_id, ep.url, e);
        await this.deps.events.advance(reader, batch[batch.length - 1]!.seq);
        if (batch.length < 200) break;
      }
    }
  }

  private async queue(merchantId: string, url: string, e: DomainEvent): Promise<void> {
    const id = `whd_${e.id.replace(/^evt_/, '')}`;
    // The delivery and its task commit together (and the task is queued again if the row was
    // there: a delivery whose task ended is still queued only once, by its dedupe key).
    await this.repo.transaction(async (trx) => {
      await this.repo.insertDeliveryIn(trx, { id, merchantId, eventId: e.id, eventSeq: e.seq, eventType: e.type, url });
      await this.deps.scheduler.enqueue(
        DELIVER_TASK,
        { deliveryId: id },
        { db: trx, dedupeKey: `${DELIVER_TASK}:${id}` },
      );
    });
    this.deps.scheduler.kick();
  }

  private async deliverTask(deliveryId: string): Promise<void> {
    const d = await this.repo.delivery(deliveryId);
    if (!d || d.status !== 'pending') return;
    const result = await this.attempt(d, false);
    if (result.ok) return;
    if (result.attempt >= MAX_ATTEMPTS) {
      await this.repo.markFailed(d.id);
      this.deps.log.error({ delivery: d.id, event: d.event_id }, 'webhook delivery gave up after the last attempt');
      return;
    }
    // Throwing hands the retry to the scheduler, which waits retryDelayMs(attempt) (scaled).
    throw new Error(`webhook answered ${result.statusCode ?? result.error}`);
  }

  /** One signed POST of a delivery; records the attempt and, on 2xx, marks it delivered. */
  private async attempt(
    d: Delivery,
    manual: boolean,
    audit?: AuditEntry,
  ): Promise<{ ok: boolean; attempt: number; statusCode?: number; error?: string }> {
    const ep = await this.repo.endpoint(d.merchant_id);
    if (!ep) throw new KauriError('webhook_not_set');
    const event = await this.deps.events.byId(d.event_id);
    if (!event) throw new KauriError('not_found', `Event ${d.event_id} is gone`);
    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      created_at: event.createdAt,
      merchant_id: event.merchantId,
      store_id: event.storeId,
      data: event.payload,
    });
    const secret = this.deps.box.open(ep.secret);
    const attempt = await this.repo.startAttempt(d.id, ep.url, audit);
    const started = Date.now();
    let statusCode: number | undefined;
    let error: string | undefined;
    let agent: ReturnType<typeof pinnedAgent> | undefined;
    try {
      // Checked now, not only when the URL was set: the merchant's DNS may have changed since.
      const merchant = await this.deps.accounts.getMerchant(d.merchant_id);
      const target = await checkDestination(
        new URL(ep.url),
        merchant?.allow_private_webhooks === 1,
        this.deps.resolve ?? systemResolver,
      );
      agent = pinnedAgent(target, TIMEOUT_MS);
      const res = await request(ep.url, {
        dispatcher: agent,
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'kauri-webhooks/1',
          [SIGNATURE_HEADER]: signatureHeader(secret, body, Math.floor(this.deps.clock.now().getTime() / 1000)),
          [EVENT_ID_HEADER]: event.id,
          'kauri-event-type': event.type,
          'kauri-delivery-id': d.id,
          'kauri-delivery-attempt': String(attempt),
        },
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
        signal: AbortSignal.timeout(TIMEOUT_MS),
        maxRedirections: 0,
      } as Parameters<typeof request>[1]);
      statusCode = res.statusCode;
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    } catch (err) {
      // The merchant sees a short cause; socket details (addresses, our network) stay in our log.
      error = shortCause(err).slice(0, 300);
      this.deps.log.info({ delivery: d.id, err }, 'webhook request failed');
    } finally {
      await agent?.close().catch(() => undefined);
    }
    const ok = statusCode !== undefined && statusCode >= 200 && statusCode < 300;
    const now = this.deps.clock.now();
    await this.repo.finishAttempt(d, {
      attempt,
      ok,
      statusCode,
      error,
      durationMs: Date.now() - started,
      manual,
      nextAttemptAt: manual
        ? d.next_attempt_at
        : nowIso(new Date(now.getTime() + this.deps.clock.duration(retryDelayMs(attempt)))),
    });
    if (!ok) this.deps.log.info({ delivery: d.id, attempt, statusCode, error }, 'webhook not acknowledged');
    return { ok, attempt, statusCode, error };
  }

  async listDeliveries(
    merchantId: string,
    options: { eventId?: string; status?: Delivery['status']; limit?: number } = {},
  ): Promise<Delivery[]> {
    return this.repo.list(merchantId, options);
  }

  async getDelivery(merchantId: string, id: string): Promise<{ delivery: Delivery; attempts: DeliveryAttempt[] }> {
    const delivery = await this.repo.delivery(id, merchantId);
    if (!delivery) throw new KauriError('not_found', `No webhook delivery "${id}"`);
    return { delivery, attempts: await this.repo.attemptsOf(id) };
  }

  /**
   * Sends a delivery again now (delivered or not); a failure here does not change its retry
   * schedule. `audit`, the back office's entry of who resent it, commits with the attempt's
   * count before the request goes out: a resend whose entry cannot be written is not sent.
   */
  async redeliver(
    merchantId: string,
    id: string,
    audit?: AuditEntry,
  ): Promise<{ delivery: Delivery; attempts: DeliveryAttempt[] }> {
    const { delivery, attempts } = await this.getDelivery(merchantId, id);
    // Each redelivery is a request the bridge makes on the merchant's word: without a limit the
    // endpoint is a way to make the bridge hammer a receiver (or keep probing one).
    const now = this.deps.clock.now().getTime();
    const lastManual = attempts.filter((a) => a.manual === 1).at(-1);
    if (lastManual && now - Date.parse(lastManual.created_at) < REDELIVER_SAME_MS) {
      throw new KauriError(
        'rate_limited',
        `This delivery was just resent; wait ${Math.ceil(REDELIVER_SAME_MS / 1000)} seconds between redeliveries of one event`,
      );
    }
    const recent = await this.repo.manualAttemptsSince(merchantId, new Date(now - 60_000));
    if (recent >= REDELIVER_PER_MINUTE) {
      throw new KauriError(
        'rate_limited',
        `At most ${REDELIVER_PER_MINUTE} manual redeliveries a minute; wait a minute`,
      );
    }
    await this.attempt(delivery, true, audit);
    return this.getDelivery(merchantId, id);
  }
}

function readerOf(merchantId: string): string {
  return `webhook:${merchantId}`;
}
