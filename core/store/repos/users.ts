import { SUBSCRIPTION_STATES, USER_KINDS } from '../../domain/enums.ts';
import type { AccessGroup, User } from '../../domain/model.ts';
import type { FieldMap } from '../../query/filter-sql.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';
import type { ListSpec } from '../list.ts';
import { bit, withBooleans, type SqlRow } from './rows.ts';

const BOOLS = ['blocked', 'remote_access', 'toggle_easy_office_mode', 'toggle_manual_office_mode', 'override_privacy_mode'] as const;
export const toUser = (row: SqlRow): User => withBooleans<User>(row, BOOLS);

export const USER_FIELDS: FieldMap = {
  id: { column: 'u.id', type: 'string' },
  user_id: { column: 'u.user_id', type: 'string' },
  first_name: { column: 'u.first_name', type: 'string', sortExpr: 'u.first_name COLLATE NOCASE' },
  last_name: { column: 'u.last_name', type: 'string', sortExpr: 'u.last_name COLLATE NOCASE' },
  email: { column: 'u.email', type: 'string' },
  alias: { column: 'u.alias', type: 'string' },
  phone: { column: 'u.phone', type: 'string' },
  kind: { column: 'u.kind', type: 'enum', values: USER_KINDS },
  blocked: { column: 'u.blocked', type: 'boolean' },
  subscription_state: { column: 'u.subscription_state', type: 'enum', values: SUBSCRIPTION_STATES },
  valid_from: { column: 'u.valid_from', type: 'datetime' },
  valid_until: { column: 'u.valid_until', type: 'datetime' },
  remote_access: { column: 'u.remote_access', type: 'boolean' },
  toggle_easy_office_mode: { column: 'u.toggle_easy_office_mode', type: 'boolean' },
  toggle_manual_office_mode: { column: 'u.toggle_manual_office_mode', type: 'boolean' },
  override_privacy_mode: { column: 'u.override_privacy_mode', type: 'boolean' },
  created_at: { column: 'u.created_at', type: 'datetime' },
  updated_at: { column: 'u.updated_at', type: 'datetime' },
};

export const userList: ListSpec<SqlRow, User> = {
  from: 'users u',
  select: 'u.*',
  fields: USER_FIELDS,
  searchColumns: ["u.first_name || ' ' || u.last_name", 'u.alias', 'u.email'],
  // A phrase query on the trigram index finds any substring of three characters or more (ignoring case
  // and diacritics); one- and two-letter terms read the names themselves.
  searchSql: (term) =>
    [...term].length >= 3
      ? { sql: 'u.pk IN (SELECT rowid FROM users_search WHERE users_search MATCH ?)', params: [`"${term.replace(/"/g, '""')}"`] }
      : {
          sql: "(instr(lower(u.first_name || ' ' || u.last_name), ?) > 0 OR instr(lower(u.alias), ?) > 0 OR instr(lower(u.email), ?) > 0)",
          params: [term.toLowerCase(), term.toLowerCase(), term.toLowerCase()],
        },
  extraSearch: (term) => (/^\d{3,10}$/.test(term) ? { sql: 'u.id IN (SELECT user_id FROM tags WHERE instr(tag_number, ?) > 0)', params: [term] } : null),
  defaultOrder: [
    { field: 'last_name', direction: 'asc' },
    { field: 'first_name', direction: 'asc' },
  ],
  tieBreaker: 'u.pk',
  map: toUser,
};

export function getUser(db: ReadDb, id: string): User | null {
  const row = stmt(db, 'SELECT * FROM users WHERE id = ?').get(id) as SqlRow | undefined;
  return row ? toUser(row) : null;
}

export function findUserByEmail(db: ReadDb, email: string): User | null {
  const row = stmt(db, 'SELECT * FROM users WHERE email = ? COLLATE NOCASE').get(email) as SqlRow | undefined;
  return row ? toUser(row) : null;
}

export function insertUser(db: WriteDb, u: User): void {
  stmt(
    db,
    `INSERT INTO users (id, user_id, first_name, last_name, email, alias, phone, kind, blocked, subscription_state, valid_from, valid_until,
       remote_access, toggle_easy_office_mode, toggle_manual_office_mode, override_privacy_mode, notes, created_at, updated_at)
     VALUES (@id, @user_id, @first_name, @last_name, @email, @alias, @phone, @kind, @blocked, @subscription_state, @valid_from, @valid_until,
       @remote_access, @toggle_easy_office_mode, @toggle_manual_office_mode, @override_privacy_mode, @notes, @created_at, @updated_at)`,
  ).run(userParams(u));
}

export function updateUser(db: WriteDb, u: User): void {
  stmt(
    db,
    `UPDATE users SET first_name = @first_name, last_name = @last_name, email = @email, alias = @alias, phone = @phone, kind = @kind,
       blocked = @blocked, subscription_state = @subscription_state, valid_from = @valid_from, valid_until = @valid_until,
       remote_access = @remote_access, toggle_easy_office_mode = @toggle_easy_office_mode, toggle_manual_office_mode = @toggle_manual_office_mode,
       override_privacy_mode = @override_privacy_mode, notes = @notes, updated_at = @updated_at WHERE id = @id`,
  ).run(userParams(u));
}

function userParams(u: User): SqlRow {
  return { ...u, ...Object.fromEntries(BOOLS.map((b) => [b, bit(u[b])])) };
}

export function deleteUser(db: WriteDb, id: string): void {
  stmt(db, 'DELETE FROM users WHERE id = ?').run(id);
}

export function groupsOfUser(db: ReadDb, userId: string): Array<Pick<AccessGroup, 'id' | 'customer_reference'>> {
  return stmt(
    db,
    `SELECT g.id, g.customer_reference FROM access_group_users m JOIN access_groups g ON g.id = m.access_group_id
     WHERE m.user_id = ? ORDER BY g.customer_reference COLLATE NOCASE`,
  ).all(userId) as Array<Pick<AccessGroup, 'id' | 'customer_reference'>>;
}
