import type { ApiClient, Operator } from '../../domain/model.ts';
import type { OperatorRole } from '../../domain/enums.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';
import { withBooleans, type SqlRow } from './rows.ts';

export interface OperatorRow extends Operator {
  password_hash: string;
  pin_hash: string | null;
}

const toOperatorRow = (row: SqlRow): OperatorRow => {
  const o = withBooleans<OperatorRow>(row, ['disabled']);
  o.has_pin = o.pin_hash !== null;
  return o;
};

export function publicOperator(o: OperatorRow): Operator {
  const { password_hash: _p, pin_hash: _n, ...rest } = o;
  return rest;
}

export function listOperators(db: ReadDb): Operator[] {
  return (stmt(db, 'SELECT * FROM operators ORDER BY username').all() as SqlRow[]).map((r) => publicOperator(toOperatorRow(r)));
}

export function getOperator(db: ReadDb, id: string): OperatorRow | null {
  const row = stmt(db, 'SELECT * FROM operators WHERE id = ?').get(id) as SqlRow | undefined;
  return row ? toOperatorRow(row) : null;
}

export function findOperator(db: ReadDb, username: string): OperatorRow | null {
  const row = stmt(db, 'SELECT * FROM operators WHERE username = ? COLLATE NOCASE').get(username) as SqlRow | undefined;
  return row ? toOperatorRow(row) : null;
}

export function countOwners(db: ReadDb): number {
  return (stmt(db, "SELECT count(*) AS n FROM operators WHERE role = 'owner' AND disabled = 0").get() as { n: number }).n;
}

export function insertOperator(db: WriteDb, o: { id: string; username: string; display_name: string; role: OperatorRole; password_hash: string; pin_hash: string | null; now: string }): void {
  stmt(
    db,
    `INSERT INTO operators (id, username, display_name, role, password_hash, pin_hash, disabled, created_at, updated_at)
     VALUES (@id, @username, @display_name, @role, @password_hash, @pin_hash, 0, @now, @now)`,
  ).run(o);
}

export function updateOperator(db: WriteDb, o: OperatorRow, now: string): void {
  stmt(
    db,
    `UPDATE operators SET display_name = @display_name, role = @role, password_hash = @password_hash, pin_hash = @pin_hash,
       disabled = @disabled, updated_at = @now WHERE id = @id`,
  ).run({ ...o, disabled: o.disabled ? 1 : 0, now });
}

export function touchLogin(db: WriteDb, id: string, now: string): void {
  stmt(db, 'UPDATE operators SET last_login_at = ? WHERE id = ?').run(now, id);
}

export function deleteOperator(db: WriteDb, id: string): void {
  stmt(db, 'DELETE FROM operators WHERE id = ?').run(id);
}

export interface ApiClientRow extends ApiClient {
  secret_hash: string;
}

const toClientRow = (row: SqlRow): ApiClientRow => withBooleans<ApiClientRow>(row, ['disabled']);

export function publicClient(c: ApiClientRow): ApiClient {
  const { secret_hash: _s, ...rest } = c;
  return rest;
}

export function listApiClients(db: ReadDb): ApiClient[] {
  return (stmt(db, 'SELECT * FROM api_clients ORDER BY customer_reference').all() as SqlRow[]).map((r) => publicClient(toClientRow(r)));
}

export function getApiClient(db: ReadDb, id: string): ApiClientRow | null {
  const row = stmt(db, 'SELECT * FROM api_clients WHERE id = ?').get(id) as SqlRow | undefined;
  return row ? toClientRow(row) : null;
}

export function findApiClient(db: ReadDb, clientId: string): ApiClientRow | null {
  const row = stmt(db, 'SELECT * FROM api_clients WHERE client_id = ?').get(clientId) as SqlRow | undefined;
  return row ? toClientRow(row) : null;
}

export function insertApiClient(db: WriteDb, c: ApiClientRow): void {
  stmt(
    db,
    `INSERT INTO api_clients (id, client_id, customer_reference, role, secret_hash, disabled, created_at, updated_at)
     VALUES (@id, @client_id, @customer_reference, @role, @secret_hash, 0, @created_at, @updated_at)`,
  ).run({ ...c, disabled: undefined });
}

export function deleteApiClient(db: WriteDb, id: string): void {
  stmt(db, 'DELETE FROM api_clients WHERE id = ?').run(id);
  stmt(db, "DELETE FROM access_tokens WHERE subject_kind = 'client' AND subject_id = ?").run(id);
}

export function insertToken(db: WriteDb, t: { token_hash: string; subject_kind: 'operator' | 'client'; subject_id: string; created_at: number; expires_at: number }): void {
  stmt(db, 'INSERT INTO access_tokens (token_hash, subject_kind, subject_id, created_at, expires_at) VALUES (@token_hash, @subject_kind, @subject_id, @created_at, @expires_at)').run(t);
}

export function findToken(db: ReadDb, tokenHash: string): { subject_kind: 'operator' | 'client'; subject_id: string; expires_at: number } | null {
  return (stmt(db, 'SELECT subject_kind, subject_id, expires_at FROM access_tokens WHERE token_hash = ?').get(tokenHash) as never) ?? null;
}

export function deleteToken(db: WriteDb, tokenHash: string): void {
  stmt(db, 'DELETE FROM access_tokens WHERE token_hash = ?').run(tokenHash);
}

export function deleteTokensOf(db: WriteDb, kind: 'operator' | 'client', id: string): void {
  stmt(db, 'DELETE FROM access_tokens WHERE subject_kind = ? AND subject_id = ?').run(kind, id);
}

export function purgeExpiredTokens(db: WriteDb, now: number): number {
  return stmt(db, 'DELETE FROM access_tokens WHERE expires_at <= ?').run(now).changes;
}
