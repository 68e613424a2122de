import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SimClock } from './clock.js';
import { FaultRegistry, type FaultRule } from './faults.js';
import { Notifier, type NotifierOptions, type NotifyJob } from './notifier.js';
import { installRequestFaults, registerControlRoutes } from './server.js';
import type { JsonState } from './state.js';

// What every gateway simulator runs besides its protocol: a movable clock, injected
// faults and a notify queue, all kept in its state file so a restart resumes them.

/** The part of a simulator's state file the runtime owns. */
export interface RuntimeState {
  clockOffsetMs: number;
  faults: FaultRule[];
  notifies: NotifyJob[];
}

export interface SimRuntime {
  readonly clock: SimClock;
  readonly faults: FaultRegistry;
  readonly notifier: Notifier;
  /** Schedules a (throttled) write of the state file. */
  save(): void;
  /** /sim/clock and /sim/faults, and the faults taken by requests (`targetOf` names a request's fault target). */
  install(app: FastifyInstance, opts?: { targetOf?: (req: FastifyRequest) => string | undefined }): void;
  /** Starts delivering notifies (once the server listens). */
  start(): void;
  /** Stops notifies, closes the server, and writes the state file. */
  close(app: FastifyInstance): Promise<void>;
}

export function simRuntime<T extends RuntimeState>(
  state: JsonState<T>,
  log: Logger,
  notify: Pick<NotifierOptions, 'schedule' | 'isAck' | 'tamper'>,
): SimRuntime {
  const save = () => state.save();
  const clock = new SimClock({ offsetMs: state.data.clockOffsetMs });
  const faults = new FaultRegistry(state.data.faults, () => {
    state.data.faults = faults.list();
    save();
  });
  const notifier = new Notifier({ clock, faults, log, ...notify, jobs: state.data.notifies, onChange: save });
  return {
    clock,
    faults,
    notifier,
    save,
    install(app, opts = {}) {
      registerControlRoutes(app, {
        clock,
        faults,
        onClockChange: () => {
          state.data.clockOffsetMs = clock.offsetMs;
          save();
        },
      });
      installRequestFaults(app, faults, clock, opts);
    },
    start: () => notifier.start(),
    async close(app) {
      notifier.stop();
      await app.close();
      state.saveNow();
    },
  };
}
