import type { Logger } from 'pino';
import type { Scheduler } from '../../jobs/scheduler.js';
import type { ChannelRegistry } from '../../channels/channel.js';
import type { Clock } from '../../../protocol/clock.js';
import { CHANNELS, type Channel } from '../codes.js';
import { channelDayNumber, dateOfDayNumber, dayNumberOf, CHINA_OFFSET_MS, DAY_MS } from '../time.js';
import type { ReconcileService } from './service.js';

// Statements are published the morning after (WeChat from 09:00, Alipay around 09:00–10:00,
// UTC+8), so each channel-day is queued once from 10:00 China time the next day. A statement
// not published yet is asked for again every half hour (polling, not failure); a failed
// download or a rejected file is retried with backoff.

export interface ReconcileScheduleOptions {
  /** Hour of the next day (UTC+8) from which a day's statement is fetched (default 10). */
  publishHourChina?: number;
  /** How many past days are looked at for missing runs (default 3). */
  lookbackDays?: number;
  /** How often to look (protocol ms, default 15 minutes). */
  everyMs?: number;
  /** How long to keep asking for a statement that is not published yet (default 2 days). */
  waitForStatementMs?: number;
}

export const RECONCILE_TASK = 'reconcile.day';

export function installReconcileJobs(
  scheduler: Scheduler,
  service: ReconcileService,
  channels: ChannelRegistry,
  clock: Clock,
  log: Logger,
  options: ReconcileScheduleOptions = {},
): void {
  const publishMs = (options.publishHourChina ?? 10) * 3_600_000;
  const waitMs = options.waitForStatementMs ?? 2 * DAY_MS;
  scheduler.defineTask<{ channel: Channel; day: string }>(
    RECONCILE_TASK,
    async ({ channel, day }) => {
      if (await service.signOffOf(channel, day)) return;
      const run = await service.reconcileDay(channel, day);
      const waiting = run.downloads.filter((d) => d.state === 'not_ready');
      const failed = run.downloads.filter((d) => d.state === 'failed');
      if (failed.length > 0)
        throw new Error(`${channel} ${day}: download failed: ${failed.map((f) => f.error).join('; ')}`);
      if (waiting.length > 0) {
        const publishedBy = (dayNumberOf(day) + 1) * DAY_MS - CHINA_OFFSET_MS + publishMs;
        if (clock.now().getTime() > publishedBy + waitMs)
          throw new Error(`${channel} ${day}: the statement is still not published`);
        return { again: 30 * 60_000 };
      }
    },
    { maxAttempts: 8, backoffMs: (a) => Math.min(60_000 * 2 ** a, 2 * 3_600_000) },
  );

  scheduler.every('reconcile.schedule', options.everyMs ?? 15 * 60_000, async () => {
    const now = clock.now().getTime();
    const today = channelDayNumber(now);
    for (const channel of CHANNELS) {
      if (!channels.get(channel)?.fetchStatement) continue;
      for (let k = 1; k <= (options.lookbackDays ?? 3); k++) {
        const day = today - k;
        // Day `day` is published from publishHour China time on day + 1.
        if (now < (day + 1) * DAY_MS - CHINA_OFFSET_MS + publishMs) continue;
        const date = dateOfDayNumber(day);
        // A finished task gives its dedupe key back, so the day's own state decides.
        if (!(await service.needsRun(channel, date))) continue;
        const id = await scheduler.enqueue(
          RECONCILE_TASK,
          { channel, day: date },
          { dedupeKey: `reconcile:${channel}:${date}` },
        );
        if (id) log.info({ channel, day: date }, 'reconciliation queued');
      }
    }
  });
}
