import { TAG_KINDS } from '../../domain/enums.ts';
import type { Tag } from '../../domain/model.ts';
import type { TagDetail } from '../../contract/results.ts';
import type { FieldMap } from '../../query/filter-sql.ts';
import { highestTagNumber } from './card-encodings.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';
import type { ListSpec } from '../list.ts';
import { bit, withBooleans, type SqlRow } from './rows.ts';

const BOOLS = ['blocked', 'lost_or_stolen'] as const;
export const toTag = (row: SqlRow): Tag => withBooleans<Tag>(row, BOOLS);

function toTagDetail(row: SqlRow): TagDetail {
  const { o_id, o_first_name, o_last_name, ...rest } = row;
  return { ...toTag(rest), owner: o_id ? { id: o_id as string, first_name: o_first_name as string, last_name: o_last_name as string } : null };
}

export const TAG_FIELDS: FieldMap = {
  id: { column: 't.id', type: 'string' },
  tag_number: { column: 't.tag_number', type: 'string' },
  card_uid: { column: 't.card_uid', type: 'string' },
  kind: { column: 't.kind', type: 'enum', values: TAG_KINDS },
  source_iq_id: { column: 't.source_iq_id', type: 'string' },
  user_id: { column: 't.user_id', type: 'string' },
  blocked: { column: 't.blocked', type: 'boolean' },
  lost_or_stolen: { column: 't.lost_or_stolen', type: 'boolean' },
  added_date: { column: 't.added_date', type: 'datetime' },
  issue_counter: { column: 't.issue_counter', type: 'number' },
};

const SELECT_DETAIL = 't.*, o.id AS o_id, o.first_name AS o_first_name, o.last_name AS o_last_name';
const FROM_DETAIL = 'tags t LEFT JOIN users o ON o.id = t.user_id';

export const tagList: ListSpec<SqlRow, TagDetail> = {
  from: FROM_DETAIL,
  select: SELECT_DETAIL,
  fields: TAG_FIELDS,
  searchColumns: ['t.tag_number', 't.card_uid', 'o.first_name', 'o.last_name'],
  defaultOrder: [{ field: 'tag_number', direction: 'asc' }],
  tieBreaker: 't.pk',
  map: toTagDetail,
};

export function getTag(db: ReadDb, id: string): TagDetail | null {
  const row = stmt(db, `SELECT ${SELECT_DETAIL} FROM ${FROM_DETAIL} WHERE t.id = ?`).get(id) as SqlRow | undefined;
  return row ? toTagDetail(row) : null;
}

export function getTagByNumber(db: ReadDb, tagNumber: string): Tag | null {
  const row = stmt(db, 'SELECT * FROM tags WHERE tag_number = ?').get(tagNumber) as SqlRow | undefined;
  return row ? toTag(row) : null;
}

export function getTagByUid(db: ReadDb, cardUid: string): TagDetail | null {
  const row = stmt(db, `SELECT ${SELECT_DETAIL} FROM ${FROM_DETAIL} WHERE t.card_uid = ?`).get(cardUid) as SqlRow | undefined;
  return row ? toTagDetail(row) : null;
}

export function tagsOfUser(db: ReadDb, userId: string): Tag[] {
  return (stmt(db, 'SELECT * FROM tags WHERE user_id = ? ORDER BY tag_number').all(userId) as SqlRow[]).map(toTag);
}

/**
 * The lowest unused tag number above the highest in use (numbers are never reused while a card exists),
 * also above any number an unfinished card encoding may have written to a card (card-encodings.ts).
 */
export function nextTagNumber(db: ReadDb): string {
  return String(highestTagNumber(db) + 1).padStart(10, '0');
}

export function insertTag(db: WriteDb, tag: Tag): void {
  stmt(
    db,
    `INSERT INTO tags (id, tag_number, card_uid, kind, source_iq_id, added_date, user_id, blocked, lost_or_stolen, lost_or_stolen_date, issue_counter, created_at, updated_at)
     VALUES (@id, @tag_number, @card_uid, @kind, @source_iq_id, @added_date, @user_id, @blocked, @lost_or_stolen, @lost_or_stolen_date, @issue_counter, @created_at, @updated_at)`,
  ).run({ ...tag, blocked: bit(tag.blocked), lost_or_stolen: bit(tag.lost_or_stolen) });
}

export function updateTag(db: WriteDb, tag: Tag): void {
  stmt(
    db,
    `UPDATE tags SET tag_number = @tag_number, card_uid = @card_uid, kind = @kind, source_iq_id = @source_iq_id, user_id = @user_id,
       blocked = @blocked, lost_or_stolen = @lost_or_stolen, lost_or_stolen_date = @lost_or_stolen_date, issue_counter = @issue_counter,
       updated_at = @updated_at WHERE id = @id`,
  ).run({ ...tag, blocked: bit(tag.blocked), lost_or_stolen: bit(tag.lost_or_stolen) });
}

export function deleteTag(db: WriteDb, id: string): void {
  stmt(db, 'DELETE FROM tags WHERE id = ?').run(id);
}
