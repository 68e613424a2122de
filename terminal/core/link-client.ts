import WebSocket from 'ws';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import {
  CLOSE,
  LINK_SUBPROTOCOL,
  LINK_VERSION,
  parseBridgeMessage,
  terminalAuthorization,
  type BridgeMessage,
  type EventMessage,
  type LinkErrorBody,
  type ResultMessage,
  type TerminalMessage,
} from '../../protocol/link.js';
import { backoffDelay } from './scan.js';

// The counter's one WebSocket to the bridge. It says hello with the last event it
// applied, hands events and command results to the counter, keeps the line alive with
// heartbeats, and reconnects with exponential backoff and jitter (so a bridge restart
// is not met by every counter of the country in the same second).

export interface LinkHandlers {
  welcome(msg: Extract<BridgeMessage, { type: 'welcome' }>): void;
  event(msg: EventMessage): void;
  result(msg: ResultMessage): void;
  online(online: boolean): void;
  /** The bridge refused these credentials for good (revoked, unknown). */
  fatal(error: LinkErrorBody): void;
}

export interface LinkOptions {
  url: string;
  terminalId: string;
  secret: string;
  lastSeq: () => number;
  clock: Clock;
  log: Logger;
  handlers: LinkHandlers;
}

export class LinkClient {
  private ws?: WebSocket;
  private attempt = 0;
  private stopped = false;
  private ready = false;
  private retry?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private lastHeard = 0;

  constructor(private readonly o: LinkOptions) {}

  get online(): boolean {
    return this.ready;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    this.ws?.terminate();
    this.setReady(false);
  }

  /**
   * Skips the rest of the backoff wait (the cashier's "try now"): the backoff spreads
   * thousands of counters after an outage, but one person asking may go at once.
   */
  reconnectNow(): void {
    if (this.stopped || this.ready || !this.retry) return;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.connect();
  }

  /** Sends when the link is up; false when it is not (the outbox keeps the command). */
  send(msg: TerminalMessage): boolean {
    if (!this.ready || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  private setReady(ready: boolean): void {
    if (this.ready === ready) return;
    this.ready = ready;
    this.o.handlers.online(ready);
  }

  private connect(): void {
    if (this.stopped) return;
    const { log, clock } = this.o;
    const ws = new WebSocket(this.o.url, LINK_SUBPROTOCOL, {
      headers: { authorization: terminalAuthorization(this.o.terminalId, this.o.secret) },
      handshakeTimeout: clock.duration(10_000),
      maxPayload: 16 * 1024 * 1024,
    });
    this.ws = ws;
    let fatal = false;
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => {
        if (res.statusCode === 401 || res.statusCode === 403) {
          fatal = true;
          let error: LinkErrorBody = {
            code: res.statusCode === 403 ? 'terminal_revoked' : 'unauthenticated',
            message: `The bridge refused this terminal (HTTP ${res.statusCode})`,
          };
          try {
            error = (JSON.parse(body) as { error: LinkErrorBody }).error ?? error;
          } catch {
            /* keep the generic one */
          }
          this.stopped = true;
          this.o.handlers.fatal(error);
        }
        ws.terminate();
      });
    });
    ws.on('open', () => {
      this.lastHeard = Date.now();
      ws.send(
        JSON.stringify({
          v: LINK_VERSION,
          type: 'hello',
          lastSeq: this.o.lastSeq(),
          software: 'kauri-terminal',
        } satisfies TerminalMessage),
      );
      clearInterval(this.heartbeat);
      const every = clock.duration(10_000);
      this.heartbeat = setInterval(() => {
        // Three silent heartbeats: the line is dead even if TCP has not noticed.
        if (Date.now() - this.lastHeard > every * 3) {
          log.warn('bridge silent; reconnecting');
          ws.terminate();
          return;
        }
        if (ws.readyState === WebSocket.OPEN)
          ws.send(JSON.stringify({ v: LINK_VERSION, type: 'ping', at: Date.now() } satisfies TerminalMessage));
      }, every);
    });
    ws.on('ping', () => {
      this.lastHeard = Date.now();
    });
    ws.on('message', (data) => {
      this.lastHeard = Date.now();
      const msg = parseBridgeMessage(data.toString());
      if (!msg) {
        log.warn('unparseable message from the bridge; ignored');
        return;
      }
      switch (msg.type) {
        case 'welcome':
          this.attempt = 0;
          this.o.handlers.welcome(msg);
          this.setReady(true);
          break;
        case 'event':
          this.o.handlers.event(msg);
          break;
        case 'result':
          this.o.handlers.result(msg);
          break;
        case 'bye':
          if (msg.error.code === 'terminal_revoked' || msg.error.code === 'unauthenticated') {
            fatal = true;
            this.stopped = true;
            this.o.handlers.fatal(msg.error);
          }
          break;
        case 'pong':
          break;
      }
    });
    ws.on('error', (err) => log.debug({ err: err.message }, 'link error'));
    ws.on('close', (code) => {
      clearInterval(this.heartbeat);
      if (this.ws === ws) this.setReady(false);
      if (code === CLOSE.revoked || code === CLOSE.unauthorised) fatal = true;
      if (fatal || this.stopped) return;
      const delay = clock.duration(backoffDelay(this.attempt++));
      log.info({ delayMs: delay }, 'link down; reconnecting');
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.connect();
      }, delay);
    });
  }
}
