import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import type { ChannelRegistry } from '../channels/channel.js';
import type { EventLog } from '../events/event-log.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { PaymentService } from '../orders/payments.js';
import type { AccountsRepo } from '../store/accounts.js';
import type { Store } from '../store/db.js';
import { registerFxRoutes } from './routes.js';
import { FxService, QUOTED_CHANNELS, type FxOptions, type PullReport } from './service.js';

export { FxService, type FxOptions, type PullReport, type QuoteView, type RateRow } from './service.js';

export const FX_JOB = 'fx.pull';

/**
 * Builds the FX service into a bridge: the periodic rate job (the bridge's scheduler, so
 * it runs once across instances), `GET /api/v1/fx/quote`, and PaymentService's `quoteFor`.
 * Pulls every source once before returning unless `pullAtStart` is false; the report says
 * which sources failed or had nothing to ask yet.
 */
export async function installFx(
  app: FastifyInstance,
  deps: {
    store: Store;
    accounts: AccountsRepo;
    channels: ChannelRegistry;
    events: EventLog;
    scheduler: Scheduler;
    payments: PaymentService;
    clock: Clock;
    log: Logger;
    options?: FxOptions & { pullAtStart?: boolean };
  },
): Promise<{ fx: FxService; startReport?: PullReport }> {
  const log = deps.log.child({ part: 'fx' });
  const fx = new FxService({
    store: deps.store,
    accounts: deps.accounts,
    channels: deps.channels,
    events: deps.events,
    clock: deps.clock,
    log,
    channelContext: (account) => deps.payments.channelContext(account),
    options: deps.options,
  });
  deps.scheduler.every(FX_JOB, deps.options?.pullEveryMs ?? 600_000, async () => {
    const report = await fx.pullAll();
    if (report.failed.length) throw new Error(report.failed.map((f) => `${f.channel}: ${f.error}`).join('; '));
  });
  registerFxRoutes(app, { accounts: deps.accounts, fx });
  deps.payments.setHooks({ quoteFor: (input) => fx.quoteFor(input), quotedChannels: QUOTED_CHANNELS });
  let startReport: PullReport | undefined;
  if (deps.options?.pullAtStart !== false) {
    startReport = await fx.pullAll();
    log.info(
      { ok: startReport.ok.length, failed: startReport.failed, skipped: startReport.skipped },
      'rates pulled at start',
    );
  }
  return { fx, startReport };
}

/**
 * For `kauri start` (after the demo accounts are seeded): pulls every rate source once and
 * says, one line each, which failed; an empty list means every source answered.
 */
export async function pullRatesBeforeReady(fx: FxService): Promise<{ report: PullReport; problems: string[] }> {
  const report = await fx.pullAll();
  const problems = report.failed.map((f) => `the ${f.channel} rate source failed: ${f.error}`);
  return { report, problems };
}
