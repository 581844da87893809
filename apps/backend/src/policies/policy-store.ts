import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { PolicyDocument, PolicySummary, StoredPolicy } from '@policy-logic-studio/shared';
import { NotFoundError, VersionConflictError } from '../errors.js';

interface PolicyRow {
  id: string;
  name: string;
  version: number;
  document: string;
  created_at: string;
  updated_at: string;
}

const SCHEMA_VERSION = 1;

/**
 * Saved policies in SQLite. Every write is one transaction, and an update only applies
 * when the caller's base version matches the stored one, so two editors cannot
 * silently overwrite each other.
 */
export class PolicyStore {
  private readonly db: Database.Database;

  constructor(databasePath: string) {
    if (databasePath !== ':memory:') {
      mkdirSync(path.dirname(databasePath), { recursive: true });
    }
    this.db = new Database(databasePath);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current >= SCHEMA_VERSION) {
      return;
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS policies (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        document TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }

  list(): PolicySummary[] {
    const rows = this.db
      .prepare('SELECT * FROM policies ORDER BY updated_at DESC, name')
      .all() as PolicyRow[];
    return rows.map((row) => {
      const policy = JSON.parse(row.document) as PolicyDocument;
      return {
        id: row.id,
        name: row.name,
        ...(policy.description === undefined ? {} : { description: policy.description }),
        version: row.version,
        updatedAt: row.updated_at,
      };
    });
  }

  get(id: string): StoredPolicy {
    const row = this.db.prepare('SELECT * FROM policies WHERE id = ?').get(id) as PolicyRow | undefined;
    if (!row) {
      throw new NotFoundError('Policy', id);
    }
    return toStoredPolicy(row);
  }

  create(policy: PolicyDocument): StoredPolicy {
    const now = new Date().toISOString();
    const row: PolicyRow = {
      id: randomUUID(),
      name: policy.name,
      version: 1,
      document: JSON.stringify(policy),
      created_at: now,
      updated_at: now,
    };
    this.db
      .prepare(
        'INSERT INTO policies (id, name, version, document, created_at, updated_at) VALUES (@id, @name, @version, @document, @created_at, @updated_at)',
      )
      .run(row);
    return toStoredPolicy(row);
  }

  /** Replace the policy when `baseVersion` is the stored version; returns the new state. */
  update(id: string, policy: PolicyDocument, baseVersion: number): StoredPolicy {
    const apply = this.db.transaction(() => {
      const current = this.get(id);
      if (current.version !== baseVersion) {
        throw new VersionConflictError(id, baseVersion, current.version);
      }
      const updatedAt = new Date().toISOString();
      this.db
        .prepare('UPDATE policies SET name = ?, version = version + 1, document = ?, updated_at = ? WHERE id = ?')
        .run(policy.name, JSON.stringify(policy), updatedAt, id);
      return this.get(id);
    });
    return apply.immediate();
  }

  delete(id: string): void {
    const result = this.db.prepare('DELETE FROM policies WHERE id = ?').run(id);
    if (result.changes === 0) {
      throw new NotFoundError('Policy', id);
    }
  }

  getSetting(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  /** Run `work` and record `key` in one transaction, so it runs at most once per database. */
  runOnce(key: string, work: () => void): boolean {
    const apply = this.db.transaction(() => {
      if (this.getSetting(key) !== undefined) {
        return false;
      }
      work();
      this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run(key, new Date().toISOString());
      return true;
    });
    return apply.immediate();
  }

  close(): void {
    this.db.close();
  }
}

function toStoredPolicy(row: PolicyRow): StoredPolicy {
  return {
    id: row.id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    policy: JSON.parse(row.document) as PolicyDocument,
  };
}
