// The maintenance commands as an installer uses them: exit codes, messages, and what ends up on disk.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../core/store/db.ts';

const BIN = join(process.cwd(), 'bin', 'gatehouse.mjs');
const root = mkdtempSync(join(tmpdir(), 'gh-maint-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function gatehouse(dataDir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--data', dataDir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GATEHOUSE_OWNER_PASSWORD: 'correct horse battery' },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function count(dataDir: string, table: string): number {
  const db = openDatabase(join(dataDir, 'gatehouse.db'));
  try {
    return (db.read.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('gatehouse users import', () => {
  const data = join(root, 'import');
  const good = join(root, 'good.csv');
  const bad = join(root, 'bad.csv');
  writeFileSync(good, 'first_name,last_name,email,kind,tag_number\nAnna,Jansen,anna@example.com,employee,0000100001\nPiet,Bakker,piet@example.com,contractor,0000100002\n');
  writeFileSync(bad, 'first_name,last_name,email,kind,tag_number\nAnna,Jansen,anna@,employee,0000100001\nPiet,Bakker,piet@example.com,astronaut,12\n');

  it('reports every bad row with line and column, exits 1 and writes nothing', () => {
    const r = gatehouse(data, 'users', 'import', bad);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${bad}:2 [email]`);
    expect(r.out).toContain(`${bad}:3 [kind]`);
    expect(r.out).toContain(`${bad}:3 [tag_number]`);
    expect(r.out).toMatch(/nothing was imported/);
    expect(count(data, 'users')).toBe(0);
  });

  it('a dry run reports what it would do and writes nothing', () => {
    const r = gatehouse(data, 'users', 'import', good, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Dry run: would create 2 and update 0 of 2/);
    expect(count(data, 'users')).toBe(0);
  });

  it('imports, and importing again updates instead of duplicating', () => {
    expect(gatehouse(data, 'users', 'import', good).out).toMatch(/Created 2 and updated 0 of 2/);
    expect(gatehouse(data, 'users', 'import', good).out).toMatch(/Created 0 and updated 2 of 2/);
    expect(count(data, 'users')).toBe(2);
    expect(count(data, 'tags')).toBe(2);
  });
});

describe('gatehouse backup / restore and site export / import', () => {
  const data = join(root, 'site');
  const csv = join(root, 'people.csv');
  writeFileSync(csv, 'first_name,last_name,email\nEva,de Vries,eva@example.com\n');

  it('backs up, restores (keeping the replaced file) and refuses a file that is not a backup', () => {
    gatehouse(data, 'users', 'import', csv);
    const backup = join(root, 'backup.db');
    const b = gatehouse(data, 'backup', backup);
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/Backup written/);
    writeFileSync(join(root, 'more.csv'), 'first_name,last_name,email\nLevi,Smit,levi@example.com\n');
    gatehouse(data, 'users', 'import', join(root, 'more.csv'));
    expect(count(data, 'users')).toBe(2);
    const r = gatehouse(data, 'restore', backup);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/previous database is kept as .*before-restore/);
    expect(count(data, 'users')).toBe(1);
    const notABackup = join(root, 'notes.txt');
    writeFileSync(notABackup, 'hello');
    const refused = gatehouse(data, 'restore', notABackup);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/not a Gatehouse database/);
    expect(count(data, 'users')).toBe(1);
  });

  it('exports the site as JSON and imports it into a new installation', () => {
    const file = join(root, 'site.json');
    expect(gatehouse(data, 'site', 'export', file).code).toBe(0);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { format: string; users: unknown[] };
    expect(doc.format).toBe('gatehouse-site');
    expect(doc.users).toHaveLength(1);
    const other = join(root, 'other');
    const dry = gatehouse(other, 'site', 'import', file, '--dry-run');
    expect(dry.code).toBe(0);
    expect(existsSync(join(other, 'gatehouse.db'))).toBe(true);
    expect(count(other, 'users')).toBe(0);
    expect(gatehouse(other, 'site', 'import', file).code).toBe(0);
    expect(count(other, 'users')).toBe(1);
    const again = gatehouse(other, 'site', 'import', file);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/--replace/);
  });
});
