import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { nzDate } from './arithmetic.js';
import type { PayoutService } from './service.js';

// Each New Zealand day the scheduler builds one run for the merchants whose schedule pays that
// day (daily, their weekday, their day of the month). The scheduler runs a job on one instance
// at a time, and the run's `scheduled_day` is unique, so however many bridges run there is one
// scheduled run a day. It waits while an earlier run is still open (built or approved).

export const PAYOUT_JOB = 'payouts.schedule';
export const SCHEDULER_ACTOR = 'scheduler';

export interface PayoutScheduleOptions {
  /** How often to look (protocol ms, default 15 minutes); 0 turns the job off. */
  everyMs?: number;
}

export function installPayoutJobs(
  scheduler: Scheduler,
  payouts: PayoutService,
  clock: Clock,
  log: Logger,
  options: PayoutScheduleOptions = {},
): void {
  if (options.everyMs === 0) return;
  scheduler.every(PAYOUT_JOB, options.everyMs ?? 15 * 60_000, async () => {
    const today = nzDate(clock.now());
    if (await payouts.scheduledRunOf(today)) return;
    try {
      const run = await payouts.buildRun({ actor: SCHEDULER_ACTOR, dueOn: today, scheduledDay: today });
      log.info({ run: run.number, totalMinor: run.total_minor }, 'scheduled payout run built; it waits for approval');
    } catch (err) {
      // Nothing due, or an open run to finish first: the next pass looks again.
      if (err instanceof KauriError && (err.code === 'payout_nothing_to_pay' || err.code === 'payout_state')) return;
      throw err;
    }
  });
}
