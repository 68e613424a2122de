import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { ERRORS, KauriError, isKauriError, type ErrorCode } from '../../protocol/errors.js';
import {
  CLOSE,
  CommandArgs,
  LINK_SUBPROTOCOL,
  LINK_VERSION,
  PairRequest,
  parseTerminalAuthorization,
  parseTerminalMessage,
  type BridgeMessage,
  type CommandMessage,
  type CommandName,
  type LinkErrorBody,
} from '../../protocol/link.js';
import type { DomainEvent, EventLog } from '../events/event-log.js';
import type { Store } from '../store/db.js';
import { PgListener } from '../store/pg-listener.js';
import type { AccountsRepo } from '../store/accounts.js';
import type { Terminal, TerminalsRepo } from './repo.js';
import type { RecordAnswer, TerminalCommandExecutor } from './executor.js';

// The bridge's side of the terminal link. Events reach a terminal from the domain event
// log: on connect it replays everything for its store after the sequence it says it has,
// then one pump per bridge instance reads new events once and hands them to the
// connections of their store. Appends made by another instance arrive through PostgreSQL
// LISTEN/NOTIFY (and, on SQLite, a short poll), so it does not matter which instance a
// terminal is connected to.

/** Event types a counter hears about (those of its store). */
const FOR_TERMINALS = /^(payment|refund|checkout|static_code)\./;
const REVOKED = 'terminal.revoked';

interface Connection {
  terminal: Terminal;
  socket: WebSocket;
  /** Highest sequence sent; nothing at or below it is sent again on this connection. */
  lastSent: number;
  replaying: boolean;
  buffered: DomainEvent[];
  /** Commands received and not yet answered, in the order sent. */
  commands: CommandMessage[];
  draining: boolean;
  alive: boolean;
  /** Cut by the bridge (revoked, replaced, a bad frame): nothing it sends is run any more. */
  ended: boolean;
}

// How long a link the bridge has cut may take to answer its close frame before its socket is
// dropped: ws would wait 30 s, and a peer that never answers must not keep a socket that long.
const CLOSE_GRACE_MS = 2_000;

export interface HubDeps {
  store: Store;
  events: EventLog;
  terminals: TerminalsRepo;
  accounts: AccountsRepo;
  executor: TerminalCommandExecutor;
  clock: Clock;
  log: Logger;
  publicBaseUrl: () => string;
}

export class TerminalHub {
  private readonly byTerminal = new Map<string, Connection>();
  private readonly byStore = new Map<string, Set<Connection>>();
  private position = 0;
  private pumping = false;
  private again = false;
  private timers: NodeJS.Timeout[] = [];
  private listener?: PgListener;
  private closed = false;
  private offAppend?: () => void;
  private beats = 0;

  constructor(private readonly deps: HubDeps) {}

  get connectionCount(): number {
    return this.byTerminal.size;
  }

  isConnected(terminalId: string): boolean {
    return this.byTerminal.has(terminalId);
  }

  async start(): Promise<void> {
    this.position = await this.deps.events.head();
    this.offAppend = this.deps.events.onAppend(() => this.pump());
    const { clock } = this.deps;
    if (this.deps.store.dialect === 'postgres') {
      this.listener = new PgListener({
        url: this.deps.store.url,
        channel: 'kauri_events',
        what: 'event listener',
        log: this.deps.log,
        onNotice: () => this.pump(),
        onUp: () => this.pump(), // anything appended while we were not listening
      });
      // A bridge that cannot listen at start does not start (it cannot have reached its database either).
      await this.listener.start().catch(async (err: unknown) => {
        await this.listener?.close();
        throw err;
      });
    }
    // SQLite has no NOTIFY: another process (kauri admin revoke) is heard by polling; on
    // PostgreSQL the poll is only a safety net under LISTEN.
    this.timers.push(setInterval(() => this.pump(), this.deps.store.dialect === 'postgres' ? 5000 : 500));
    this.timers.push(setInterval(() => this.heartbeat(), clock.duration(15_000)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.offAppend?.();
    for (const c of this.byTerminal.values()) c.socket.close(1001, 'bridge stopping');
    await this.listener?.close();
  }

  /** Reads new events once for this instance and hands each to its store's terminals. */
  pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.again = false;
          for (;;) {
            const batch = await this.deps.events.read(this.position, { limit: 1000 });
            for (const e of batch) this.dispatch(e);
            if (batch.length) this.position = batch[batch.length - 1]!.seq;
            if (batch.length < 1000) break;
          }
        } while (this.again && !this.closed);
      } catch (err) {
        if (!this.closed) this.deps.log.error({ err }, 'terminal event pump failed');
      } finally {
        this.pumping = false;
      }
    })();
  }

  private dispatch(e: DomainEvent): void {
    if (e.type === REVOKED) {
      const id = (e.payload as { terminalId?: string }).terminalId;
      const c = id ? this.byTerminal.get(id) : undefined;
      if (c) this.bye(c, 'terminal_revoked', CLOSE.revoked);
      return;
    }
    if (!FOR_TERMINALS.test(e.type) || !e.storeId) return;
    for (const c of this.byStore.get(e.storeId) ?? []) {
      if (c.replaying) c.buffered.push(e);
      else this.sendEvent(c, e);
    }
  }

  private sendEvent(c: Connection, e: DomainEvent): void {
    if (e.seq <= c.lastSent) return;
    c.lastSent = e.seq;
    send(c.socket, { v: LINK_VERSION, type: 'event', seq: e.seq, event: e.type, at: e.createdAt, payload: e.payload });
  }

  private heartbeat(): void {
    // About once a minute, one write marks every counter linked here as seen: HQ asking
    // another instance can then tell a counter online elsewhere from one long gone.
    if (++this.beats % 4 === 0 && this.byTerminal.size) {
      void this.deps.terminals
        .touchMany([...this.byTerminal.keys()])
        .catch((err) => this.deps.log.warn({ err }, 'could not mark terminals seen'));
    }
    for (const c of this.byTerminal.values()) {
      if (!c.alive) {
        c.socket.terminate();
        continue;
      }
      c.alive = false;
      c.socket.ping();
    }
  }

  private bye(c: Connection, code: ErrorCode, closeCode: number): void {
    send(c.socket, { v: LINK_VERSION, type: 'bye', error: errorBody(new KauriError(code)) });
    this.end(c, closeCode, code);
  }

  /**
   * Cuts a link: what it has queued is dropped, and anything it sends from now on is ignored.
   * ws goes on delivering messages until the peer answers the close frame, so a revoked
   * counter that never answers would otherwise keep issuing commands.
   */
  private end(c: Connection, closeCode: number, reason: string): void {
    c.ended = true;
    c.commands.length = 0;
    c.socket.close(closeCode, reason);
    const drop = setTimeout(() => c.socket.terminate(), CLOSE_GRACE_MS);
    drop.unref();
    c.socket.once('close', () => clearTimeout(drop));
  }

  /** The `/terminal` WebSocket and the pairing endpoint. */
  async register(app: FastifyInstance): Promise<void> {
    await app.register(websocket, {
      options: {
        maxPayload: 64 * 1024,
        handleProtocols: (protocols) => (protocols.has(LINK_SUBPROTOCOL) ? LINK_SUBPROTOCOL : false),
      },
    });
    const authenticated = new WeakMap<FastifyRequest, Terminal>();
    await app.register(async (scope) => {
      scope.get(
        '/terminal',
        {
          websocket: true,
          // Credentials are checked before the upgrade: an unpaired or revoked client gets a
          // plain HTTP 401/403 and never a socket.
          preValidation: async (req, reply) => {
            const cred = parseTerminalAuthorization(req.headers.authorization);
            if (!cred) {
              return reply.code(401).send({
                error: {
                  code: 'unauthenticated',
                  message:
                    "A paired terminal's credentials are required: pair the counter once with a code from HQ (KAURI_PAIRING_CODE=CODE kauri terminal …)",
                },
              });
            }
            try {
              authenticated.set(req, await this.deps.terminals.authenticate(cred.terminalId, cred.secret));
            } catch (err) {
              const e = isKauriError(err) ? err : new KauriError('unauthenticated');
              return reply.code(e.status).send({ error: e.toJSON() });
            }
          },
        },
        (socket, req) => {
          const terminal = authenticated.get(req)!;
          this.accept(terminal, socket);
        },
      );
    });

    app.post('/terminal/pair', async (req, reply) => {
      const body = PairRequest.safeParse(req.body);
      if (!body.success) throw new KauriError('invalid_request', 'Send {"code": "…", "name"?: "…"}');
      const { terminal, secret } = await this.deps.terminals.pair(body.data.code, body.data.name);
      this.deps.log.info({ terminal: terminal.id, store: terminal.storeId }, 'terminal paired');
      return reply.code(201).send({
        terminalId: terminal.id,
        secret,
        storeId: terminal.storeId,
        merchantId: terminal.merchantId,
        name: terminal.name,
      });
    });
  }

  private accept(terminal: Terminal, socket: WebSocket): void {
    const { log } = this.deps;
    const previous = this.byTerminal.get(terminal.id);
    // One link per counter: a reconnect that overtakes its own dead socket replaces it.
    if (previous) this.end(previous, 4409, 'replaced by a newer connection');
    const c: Connection = {
      terminal,
      socket,
      lastSent: 0,
      replaying: true,
      buffered: [],
      commands: [],
      draining: false,
      alive: true,
      ended: false,
    };
    this.byTerminal.set(terminal.id, c);
    let set = this.byStore.get(terminal.storeId);
    if (!set) this.byStore.set(terminal.storeId, (set = new Set()));
    set.add(c);
    void this.deps.terminals.touch(terminal.id).catch(() => undefined);
    log.info({ terminal: terminal.id, store: terminal.storeId }, 'terminal connected');

    socket.on('pong', () => {
      c.alive = true;
    });
    socket.on('close', () => {
      if (this.byTerminal.get(terminal.id) === c) this.byTerminal.delete(terminal.id);
      set!.delete(c);
      void this.deps.terminals.touch(terminal.id).catch(() => undefined);
    });
    socket.on('message', (data, isBinary) => {
      if (c.ended) return;
      c.alive = true;
      const msg = isBinary ? undefined : parseTerminalMessage(data.toString());
      if (!msg) {
        send(socket, {
          v: LINK_VERSION,
          type: 'bye',
          error: { code: 'invalid_request', message: `Not a kauri-link v${LINK_VERSION} message` },
        });
        this.end(c, CLOSE.protocol, 'bad message');
        return;
      }
      switch (msg.type) {
        case 'hello':
          void this.hello(c, msg.lastSeq).catch((err) => {
            log.error({ err, terminal: terminal.id }, 'replay failed');
            socket.close(1011, 'replay failed');
          });
          break;
        case 'ack':
          void this.deps.events.advance(`terminal:${terminal.id}`, msg.seq).catch(() => undefined);
          break;
        case 'ping':
          send(socket, { v: LINK_VERSION, type: 'pong', at: msg.at });
          break;
        case 'command':
          c.commands.push(msg);
          if (!c.draining) void this.drainCommands(c);
          break;
      }
    });
  }

  private async hello(c: Connection, lastSeq: number): Promise<void> {
    const info = await this.deps.terminals.storeInfo(c.terminal.storeId);
    const head = await this.deps.events.head();
    const base = this.deps.publicBaseUrl();
    send(c.socket, {
      v: LINK_VERSION,
      type: 'welcome',
      terminalId: c.terminal.id,
      terminalName: c.terminal.name,
      head,
      store: {
        id: c.terminal.storeId,
        code: info?.store.code ?? '',
        name: info?.store.name ?? '',
        timezone: info?.store.timezone ?? 'Pacific/Auckland',
        currency: info?.store.currency ?? 'NZD',
        merchantId: c.terminal.merchantId,
        merchantName: info?.merchantName ?? '',
        staticCodeUrl: info && base ? new URL(`/s/${info.store.code}`, base).toString() : undefined,
      },
    });
    c.replaying = true;
    c.lastSent = lastSeq;
    for (;;) {
      const batch = await this.deps.events.read(c.lastSent, { storeId: c.terminal.storeId, limit: 500 });
      for (const e of batch) if (FOR_TERMINALS.test(e.type)) this.sendEvent(c, e);
      if (batch.length) c.lastSent = Math.max(c.lastSent, batch[batch.length - 1]!.seq);
      if (batch.length < 500) break;
    }
    c.replaying = false;
    const held = c.buffered.sort((a, b) => a.seq - b.seq);
    c.buffered = [];
    for (const e of held) this.sendEvent(c, e);
  }

  /**
   * Runs a counter's commands one at a time, in the order sent (a cancel never overtakes its
   * sale). Commands that arrive together (an outbox drained after a reconnect) are looked up
   * in one read and their dedupe records written in one transaction: one commit for the lot
   * instead of one per command, which had bounded a drain by the disk's fsync rate. Answers
   * are sent only once their records are committed, as before; held answers are let go after
   * BATCH_HOLD_MS so a slow command behind them does not delay them.
   */
  private async drainCommands(c: Connection): Promise<void> {
    c.draining = true;
    try {
      while (c.commands.length && !c.ended) {
        const batch = c.commands.splice(0, BATCH_MAX);
        await this.commandBatch(c, batch).catch((err) => this.deps.log.error({ err }, 'terminal commands failed'));
      }
    } finally {
      c.draining = false;
    }
  }

  private async commandBatch(c: Connection, batch: CommandMessage[]): Promise<void> {
    const { terminals } = this.deps;
    // Revoked on another bridge instance, or before its event reached this one: the link is
    // cut before any of its commands runs (one read per batch, not per command).
    if (await terminals.isRevoked(c.terminal.id)) {
      this.bye(c, 'terminal_revoked', CLOSE.revoked);
      return;
    }
    const done = await terminals.doneCommands(
      c.terminal.id,
      batch.filter((m) => !UNRECORDED.has(m.name)).map((m) => m.key),
    );
    let held: Array<{ msg: CommandMessage; result: CommandAnswer; record: boolean }> = [];
    let heldSince = 0;
    const release = async () => {
      const out = held;
      held = [];
      await terminals.finishCommands(
        c.terminal.id,
        out.filter((h) => h.record).map((h) => ({ key: h.msg.key, name: h.msg.name, result: h.result })),
      );
      for (const h of out) send(c.socket, { v: LINK_VERSION, type: 'result', key: h.msg.key, ...h.result });
    };
    for (const msg of batch) {
      if (c.ended) break; // cut while this batch ran: the rest is never run
      const before = done.get(msg.key);
      if (before !== undefined) {
        held.push({ msg, result: { ...(before as CommandAnswer), replayed: true }, record: false });
      } else {
        const { result, record, answered } = await this.runCommand(c, msg);
        if (answered) done.set(msg.key, answered); // the same key twice in one burst: answered once, then replayed
        held.push({ msg, result, record });
      }
      if (held.length === 1) heldSince = performance.now();
      if (performance.now() - heldSince >= BATCH_HOLD_MS) await release();
    }
    await release();
  }

  /**
   * Runs one command not yet done: its answer, whether that answer is still to be recorded,
   * and the answer a repeat of the same key should get (none for an answer worth a fresh try).
   */
  private async runCommand(
    c: Connection,
    msg: CommandMessage,
  ): Promise<{ result: CommandAnswer; record: boolean; answered?: CommandAnswer }> {
    const { terminals } = this.deps;
    // A command whose change is one transaction (checkout.create) writes its record in that
    // transaction: one commit on the sale's path instead of two, and never a checkout on disk
    // without the record that answers a resend of its command.
    let recordedWithIt = false;
    let recordedElsewhere = false;
    const result = await this.execute(
      c,
      msg,
      UNRECORDED.has(msg.name)
        ? undefined
        : async (data, trx) => {
            const answer = { ok: true, data } satisfies CommandAnswer;
            if (
              !(await terminals.recordCommandOnce(trx, c.terminal.id, { key: msg.key, name: msg.name, result: answer }))
            ) {
              // Done meanwhile by another run of the same command (a counter that reconnected
              // and sent it again while it ran): this run's change is undone.
              recordedElsewhere = true;
              throw new KauriError('idempotency_conflict', 'This command was carried out by another run of it');
            }
            recordedWithIt = true;
          },
    );
    if (recordedElsewhere) {
      // The other run's answer, as a resend after it would have had. Its record committed
      // before this run's insert could see it, or joins this read's commit (SQLite).
      const other = (await terminals.doneCommands(c.terminal.id, [msg.key])).get(msg.key) as CommandAnswer | undefined;
      if (other) return { result: { ...other, replayed: true }, record: false, answered: other };
      const busy = new KauriError(
        'internal',
        'The command is still being carried out; it will be answered when sent again',
      );
      return { result: { ok: false, error: errorBody(busy) }, record: false };
    }
    // A wrong PIN or an internal failure is not recorded: the same command may be tried
    // again and deserves a fresh answer. Nor is a question (UNRECORDED).
    const transient =
      UNRECORDED.has(msg.name) ||
      (!result.ok && ['manager_pin_invalid', 'manager_pin_locked', 'internal'].includes(result.error!.code));
    // Recorded with its change only if that change committed (the command answered ok).
    return {
      result,
      record: !transient && !(result.ok && recordedWithIt),
      answered: transient ? undefined : result,
    };
  }

  private async execute(c: Connection, msg: CommandMessage, record?: RecordAnswer): Promise<CommandAnswer> {
    const { executor, log } = this.deps;
    const parsed = CommandArgs[msg.name].safeParse(msg.args);
    if (!parsed.success) {
      return {
        ok: false,
        error: {
          code: 'invalid_request',
          message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          zh: ERRORS.invalid_request.zh,
        },
      };
    }
    try {
      return { ok: true, data: await executor.execute(c.terminal, msg.name, parsed.data, record) };
    } catch (err) {
      if (!isKauriError(err))
        log.error({ err, command: msg.name, terminal: c.terminal.id }, 'terminal command crashed');
      return { ok: false, error: errorBody(err) };
    }
  }
}

interface CommandAnswer {
  ok: boolean;
  data?: unknown;
  error?: LinkErrorBody;
  replayed?: boolean;
}

/**
 * Questions a counter asks without its outbox (never sent again under the same key), whose
 * fresh answer is as good as a recorded one: recording them cost a commit on every sale,
 * while the sale's own checkout waited on the same disk.
 */
const UNRECORDED: ReadonlySet<CommandName> = new Set<CommandName>(['fx.estimate', 'device.health']);

/** Commands of one counter looked up and recorded together, at most. */
const BATCH_MAX = 1000;
/** How long an answer may wait for the commands behind it before it is recorded and sent. */
const BATCH_HOLD_MS = 20;

function errorBody(err: unknown): LinkErrorBody {
  if (isKauriError(err)) return { code: err.code, message: err.message, zh: err.zh };
  return { code: 'internal', message: ERRORS.internal.en, zh: ERRORS.internal.zh };
}

function send(socket: WebSocket, msg: BridgeMessage): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(msg));
}
