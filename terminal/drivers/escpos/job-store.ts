import Database from 'better-sqlite3';
import { monotonicFactory } from 'ulid';

// Ids sort in the order jobs were added, even within one millisecond.
const ulid = monotonicFactory();

// Print jobs are written down before a byte goes to the printer, so a job that meets
// an empty paper roll, an open cover or a power cut is printed later, once, rather
// than lost. The terminal core passes its own SQLite database; a path works too.

export type PrintJobState = 'queued' | 'printing' | 'held' | 'printed';

export interface PrintJob {
  id: string;
  /** What it is: "sale", "refund", "settlement-z", "test-page"… */
  kind: string;
  /** The record it prints (payment id, refund no., store day), for the screen. */
  ref?: string;
  bytes: Uint8Array;
  state: PrintJobState;
  attempts: number;
  /** Last reason it was held (an error code). */
  reason?: string;
  createdAt: string;
  printedAt?: string;
}

export interface NewPrintJob {
  kind: string;
  ref?: string;
  bytes: Uint8Array;
}

export interface PrintJobStore {
  add(job: NewPrintJob): PrintJob;
  get(id: string): PrintJob | undefined;
  /** The oldest job not yet printed, whatever its state. */
  next(): PrintJob | undefined;
  markPrinting(id: string): void;
  markHeld(id: string, reason: string): void;
  markPrinted(id: string): void;
  list(state?: PrintJobState): PrintJob[];
}

interface Row {
  id: string;
  kind: string;
  ref: string | null;
  bytes: Buffer;
  state: PrintJobState;
  attempts: number;
  reason: string | null;
  created_at: string;
  printed_at: string | null;
}

const toJob = (r: Row): PrintJob => ({
  id: r.id,
  kind: r.kind,
  ref: r.ref ?? undefined,
  bytes: new Uint8Array(r.bytes),
  state: r.state,
  attempts: r.attempts,
  reason: r.reason ?? undefined,
  createdAt: r.created_at,
  printedAt: r.printed_at ?? undefined,
});

export class SqlitePrintJobStore implements PrintJobStore {
  private readonly db: Database.Database;
  private readonly owned: boolean;

  /** `db`: the terminal's open database, or a file path (opened here, in WAL mode). */
  constructor(db: Database.Database | string) {
    this.owned = typeof db === 'string';
    this.db = typeof db === 'string' ? new Database(db) : db;
    if (this.owned) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.exec(`CREATE TABLE IF NOT EXISTS print_jobs (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      ref TEXT,
      bytes BLOB NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('queued','printing','held','printed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      reason TEXT,
      created_at TEXT NOT NULL,
      printed_at TEXT
    );
    CREATE INDEX IF NOT EXISTS print_jobs_open ON print_jobs (state, id) WHERE state <> 'printed';`);
  }

  add(job: NewPrintJob): PrintJob {
    const row: Row = {
      id: ulid(),
      kind: job.kind,
      ref: job.ref ?? null,
      bytes: Buffer.from(job.bytes),
      state: 'queued',
      attempts: 0,
      reason: null,
      created_at: new Date().toISOString(),
      printed_at: null,
    };
    this.db
      .prepare(
        'INSERT INTO print_jobs (id, kind, ref, bytes, state, attempts, reason, created_at, printed_at) VALUES (@id, @kind, @ref, @bytes, @state, @attempts, @reason, @created_at, @printed_at)',
      )
      .run(row);
    return toJob(row);
  }

  get(id: string): PrintJob | undefined {
    const r = this.db.prepare('SELECT * FROM print_jobs WHERE id = ?').get(id) as Row | undefined;
    return r && toJob(r);
  }

  next(): PrintJob | undefined {
    const r = this.db.prepare("SELECT * FROM print_jobs WHERE state <> 'printed' ORDER BY id LIMIT 1").get() as
      Row | undefined;
    return r && toJob(r);
  }

  markPrinting(id: string): void {
    this.db.prepare("UPDATE print_jobs SET state = 'printing', attempts = attempts + 1 WHERE id = ?").run(id);
  }

  markHeld(id: string, reason: string): void {
    this.db.prepare("UPDATE print_jobs SET state = 'held', reason = ? WHERE id = ?").run(reason, id);
  }

  markPrinted(id: string): void {
    this.db
      .prepare("UPDATE print_jobs SET state = 'printed', printed_at = ? WHERE id = ?")
      .run(new Date().toISOString(), id);
  }

  list(state?: PrintJobState): PrintJob[] {
    const rows = (
      state
        ? this.db.prepare('SELECT * FROM print_jobs WHERE state = ? ORDER BY id').all(state)
        : this.db.prepare('SELECT * FROM print_jobs ORDER BY id').all()
    ) as Row[];
    return rows.map(toJob);
  }

  close(): void {
    if (this.owned) this.db.close();
  }
}
