// The statement cache hands every caller the same prepared statement for the same SQL: one caller
// plucking a single column must not change what the next caller of that SQL gets back.
import { afterEach, expect, it } from 'vitest';
import { openDatabase, stmt, type SiteDatabase } from './db.ts';

let db: SiteDatabase | undefined;
afterEach(() => db?.close());

it('gives a row to a caller that does not pluck, after another caller plucked the same SQL', () => {
  db = openDatabase(':memory:');
  const sql = 'SELECT 7 AS seven';
  expect(stmt(db.read, sql).pluck().get()).toBe(7);
  expect(stmt(db.read, sql).get()).toEqual({ seven: 7 });
  expect(stmt(db.read, sql).pluck().get()).toBe(7);
});
