import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setImmediate } from 'node:timers';
import { deserialize, serialize } from 'node:v8';
import Database from 'better-sqlite3';
import type { Envelope } from '../messages.js';

/**
 * The local transport's SQLite journal: a message is written here before send() resolves and marked done
 * only after its handler succeeded, so queued, delayed and retrying messages survive kill -9.
 * WAL with synchronous=NORMAL commits without an fsync per send: safe against a process crash
 * (the kernel still has the write), not against power loss.
 *
 * Sends and completions are group-committed: those of one event-loop turn share one transaction,
 * committed on the next turn, because a commit costs far more than a row. A send resolves only once
 * committed; losing the last turn's completions to a crash only redelivers those messages, which
 * at-least-once delivery allows (handlers are idempotent).
 */

const STATE_QUEUED = 0;
const STATE_DONE = 1;
const STATE_DEAD = 2;

export interface JournalEntry {
  seq: number;
  inbox: string;
  envelope: Envelope;
  dueAt: number;
  failedAttempts: number;
}

export interface RecoveredJournal {
  /** In send order. */
  queued: JournalEntry[];
  /** Ids completed since the cutoff, oldest first: they still block duplicates. */
  completed: { inbox: string; id: string; doneAt: number }[];
  /** Oldest first. */
  dead: JournalEntry[];
  nextSeq: number;
}

interface Row {
  seq: number;
  inbox: string;
  id: string;
  body: Buffer | null;
  due_at: number;
  attempts: number;
  done_at: number | null;
}

interface PendingSend {
  rows: [entry: JournalEntry, body: Buffer][];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class JournalInUseError extends Error {
  override name = 'JournalInUseError';
}

export class Journal {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly markDone: Database.Statement;
  private readonly markRetry: Database.Statement;
  private readonly markDead: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly removeCompleted: Database.Statement;
  private readonly writeAll: (sends: readonly PendingSend[], done: readonly [seq: number, doneAt: number][]) => void;
  /** Sends and completions not yet written; committed on the next turn of the event loop, or on close. */
  private sends: PendingSend[] = [];
  private completions: [seq: number, doneAt: number][] = [];

  /** `onCompletionError` hears of a batch of completions that could not be written (they are redelivered after a restart). */
  constructor(
    readonly path: string,
    private readonly onCompletionError: (err: unknown) => void = () => undefined,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    // No busy wait: the only other holder of the lock is another live process, which is an error now.
    this.db = new Database(path, { timeout: 0 });
    try {
      // Exclusive locking (set before WAL) keeps a second process from delivering the same messages.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec('BEGIN IMMEDIATE; COMMIT');
    } catch (err) {
      this.db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new JournalInUseError(`transport journal ${path} is in use by another process`);
      }
      throw err;
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS messages (
        seq      INTEGER PRIMARY KEY,
        inbox    TEXT    NOT NULL,
        id       TEXT    NOT NULL,
        body     BLOB,
        due_at   INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        state    INTEGER NOT NULL DEFAULT ${STATE_QUEUED},
        done_at  INTEGER,
        error    TEXT
      );
      CREATE INDEX IF NOT EXISTS messages_completed ON messages (done_at) WHERE state = ${STATE_DONE};
    `);
    this.insert = this.db.prepare('INSERT INTO messages (seq, inbox, id, body, due_at) VALUES (?, ?, ?, ?, ?)');
    // A completed message keeps only its id, for deduplication.
    this.markDone = this.db.prepare(`UPDATE messages SET state = ${STATE_DONE}, done_at = ?, body = NULL WHERE seq = ?`);
    this.markRetry = this.db.prepare('UPDATE messages SET attempts = ?, due_at = ? WHERE seq = ?');
    this.markDead = this.db.prepare(`UPDATE messages SET state = ${STATE_DEAD}, attempts = ?, done_at = ?, error = ? WHERE seq = ?`);
    this.remove = this.db.prepare('DELETE FROM messages WHERE seq = ?');
    this.removeCompleted = this.db.prepare(`DELETE FROM messages WHERE state = ${STATE_DONE} AND done_at < ?`);
    this.writeAll = this.db.transaction((sends: readonly PendingSend[], done: readonly [number, number][]) => {
      for (const send of sends) for (const [e, body] of send.rows) this.insert.run(e.seq, e.inbox, e.envelope.id, body, e.dueAt);
      for (const [seq, doneAt] of done) this.markDone.run(doneAt, seq);
    });
  }

  /**
   * Reads back what a previous process left. Entries that cannot be decoded are dead-lettered
   * (reported through `onUnreadable`) instead of blocking startup.
   */
  recover(completedSince: number, onUnreadable: (seq: number, err: unknown) => void): RecoveredJournal {
    this.removeCompleted.run(completedSince);
    const decode = (rows: Row[]): JournalEntry[] => {
      const entries: JournalEntry[] = [];
      for (const r of rows) {
        try {
          if (!r.body) throw new Error('message body is missing');
          const envelope = deserialize(r.body) as Envelope;
          entries.push({ seq: r.seq, inbox: r.inbox, envelope, dueAt: r.due_at, failedAttempts: r.attempts });
        } catch (err) {
          onUnreadable(r.seq, err);
          this.remove.run(r.seq);
        }
      }
      return entries;
    };
    const select = (state: number, order: string) =>
      this.db.prepare(`SELECT seq, inbox, id, body, due_at, attempts, done_at FROM messages WHERE state = ? ORDER BY ${order}`).all(state) as Row[];
    const completed = (this.db.prepare(`SELECT inbox, id, done_at FROM messages WHERE state = ? ORDER BY done_at, seq`).all(STATE_DONE) as Row[]).map((r) => ({
      inbox: r.inbox,
      id: r.id,
      doneAt: r.done_at ?? 0,
    }));
    const maxSeq = (this.db.prepare('SELECT MAX(seq) AS max FROM messages').get() as { max: number | null }).max ?? 0;
    return { queued: decode(select(STATE_QUEUED, 'seq')), completed, dead: decode(select(STATE_DEAD, 'done_at, seq')), nextSeq: maxSeq + 1 };
  }

  /** Resolves once the whole batch is durable; if that fails, none of it is. A message that cannot be serialized throws at once. */
  append(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const rows = entries.map((e): [JournalEntry, Buffer] => [e, serialize(e.envelope)]);
    return new Promise((resolve, reject) => {
      this.schedule();
      this.sends.push({ rows, resolve, reject });
    });
  }

  /** Marks a message done on the next turn of the event loop (see above). */
  complete(seq: number, doneAt: number): void {
    this.schedule();
    this.completions.push([seq, doneAt]);
  }

  private schedule(): void {
    if (this.sends.length === 0 && this.completions.length === 0) setImmediate(() => this.commit());
  }

  private commit(): void {
    const { sends, completions } = this;
    this.sends = [];
    this.completions = [];
    if (sends.length === 0 && completions.length === 0) return;
    try {
      if (!this.db.open) throw new Error(`transport journal ${this.path} is closed`);
      this.writeAll(sends, completions);
    } catch (err) {
      for (const send of sends) send.reject(err);
      if (completions.length) this.onCompletionError(err);
      return;
    }
    for (const send of sends) send.resolve();
  }

  retry(seq: number, failedAttempts: number, dueAt: number): void {
    this.markRetry.run(failedAttempts, dueAt, seq);
  }

  deadLetter(seq: number, failedAttempts: number, at: number, error: string): void {
    this.markDead.run(failedAttempts, at, error, seq);
  }

  forget(seq: number): void {
    this.remove.run(seq);
  }

  pruneCompleted(before: number): void {
    this.removeCompleted.run(before);
  }

  close(): void {
    this.commit();
    if (this.db.open) this.db.close();
  }
}
