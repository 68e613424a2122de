import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import { systemClock, type Clock } from '../../protocol/clock.js';

// Raw channel files (statements, rate files) kept by content: the name is the SHA-256,
// so a file is never overwritten and the same download twice is stored once.

export interface StoredFile {
  sha256: string;
  size: number;
  kind: string;
  channel: string | null;
  day: string | null;
  meta: Record<string, unknown>;
  createdAt: string;
}

export class FileStore {
  constructor(
    private readonly dir: string,
    private readonly store: Store,
    private readonly clock: Clock = systemClock(),
  ) {}

  private pathOf(sha256: string): string {
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  async put(
    body: Buffer,
    info: { kind: string; channel?: string; day?: string; meta?: Record<string, unknown> },
  ): Promise<StoredFile> {
    const sha256 = createHash('sha256').update(body).digest('hex');
    const path = this.pathOf(sha256);
    if (!existsSync(path)) {
      await mkdir(join(this.dir, sha256.slice(0, 2)), { recursive: true });
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, body, { flag: 'wx' });
      await rename(tmp, path).catch(async (err) => {
        await unlink(tmp).catch(() => undefined);
        throw err;
      });
    }
    const row = {
      sha256,
      size: body.length,
      kind: info.kind,
      channel: info.channel ?? null,
      day: info.day ?? null,
      meta: JSON.stringify(info.meta ?? {}),
      created_at: nowIso(this.clock.now()),
    };
    await this.store.db
      .insertInto('files')
      .values(row)
      .onConflict((oc) => oc.column('sha256').doNothing())
      .execute();
    const stored = await this.info(sha256);
    return stored!;
  }

  async info(sha256: string): Promise<StoredFile | undefined> {
    const r = await this.store.db.selectFrom('files').selectAll().where('sha256', '=', sha256).executeTakeFirst();
    return r
      ? {
          sha256: r.sha256,
          size: Number(r.size),
          kind: r.kind,
          channel: r.channel,
          day: r.day,
          meta: JSON.parse(r.meta),
          createdAt: r.created_at,
        }
      : undefined;
  }

  async list(filter: { kind?: string; channel?: string; day?: string } = {}): Promise<StoredFile[]> {
    let q = this.store.db.selectFrom('files').selectAll();
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    if (filter.channel) q = q.where('channel', '=', filter.channel);
    if (filter.day) q = q.where('day', '=', filter.day);
    const rows = await q.orderBy('created_at').execute();
    return rows.map((r) => ({
      sha256: r.sha256,
      size: Number(r.size),
      kind: r.kind,
      channel: r.channel,
      day: r.day,
      meta: JSON.parse(r.meta),
      createdAt: r.created_at,
    }));
  }

  async read(sha256: string): Promise<Buffer> {
    const body = await readFile(this.pathOf(sha256));
    const actual = createHash('sha256').update(body).digest('hex');
    if (actual !== sha256) throw new Error(`Stored file ${sha256} is corrupt (content hash ${actual})`);
    return body;
  }

  stream(sha256: string): Readable {
    return createReadStream(this.pathOf(sha256));
  }
}
