// Tamper evidence: someone edits the SQLite file by hand (a second connection, as a person with a SQLite
// browser would) and `audit.verify` / `gatehouse verify-audit` must name the chain and the FIRST row whose
// chain breaks, with a reason a person can act on. Every case starts from a copy of the same trail: one
// that has had retention (so verification starts at an anchor) and anonymisation applied.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../contract/errors.ts';
import type { AuditVerification, IngestResult } from '../contract/results.ts';
import { ensureSite } from '../host/first-run.ts';
import { systemActor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase } from '../store/db.ts';
import { chainHash, entryHashBody } from './chain.ts';
import { verifyAudit } from './verify.ts';

const BIN = join(process.cwd(), 'bin', 'gatehouse.mjs');
const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'gh-chain-'));
const baseDir = join(root, 'base');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const NOW = Date.parse('2026-03-02T12:00:00Z');

/**
 * entries: 1–5 (January) deleted by retention, 6–15 (20 February) anonymised, 16–25 (1 March) whole.
 * incidents: 1–2 deleted by retention, 3–6 kept, 4 acknowledged.
 * anchors: 1 for entries (first_seq 6), 2 for incidents (first_seq 3).
 */
beforeAll(() => {
  mkdirSync(baseDir);
  const db = openDatabase(join(baseDir, 'gatehouse.db'));
  try {
    ensureSite(db, { name: 'HQ', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery', now: NOW });
    const svc = new GatehouseService(db, { now: () => NOW });
    const sys = systemActor('test');
    const iq = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-45', customer_reference: 'IQ' });
    const lock = svc.run(sys, 'locks.create', { customer_reference: 'Front door', iq_id: iq.id });
    const alice = svc.run(sys, 'users.create', { first_name: 'Alice', last_name: 'Adams' });
    const bob = svc.run(sys, 'users.create', { first_name: 'Bob', last_name: 'Brown' });
    svc.run(sys, 'tags.create', { tag_number: '0000001001', user_id: alice.id });
    svc.run(sys, 'tags.create', { tag_number: '0000001002', user_id: bob.id });
    const ev = (id: number, time: string) => ({
      event_id: `e${id}`,
      time,
      event_category: id % 5 === 0 ? 'lock_rejected' : 'lock_opened',
      event_detail: id % 5 === 0 ? 'no_access' : null,
      access_by: 'tag',
      lock_id: lock.id,
      tag_number: id % 2 ? '0000001001' : '0000001002',
    });
    const at = (day: string, i: number) => `${day}T08:${String(i).padStart(2, '0')}:00Z`;
    const alarm = (id: number, time: string) => ({ event_id: `a${id}`, time, incident_type: 'door_left_open', lock_id: lock.id });
    svc.run(sys, 'entries.ingest', { source: 'iq:1', entries: [1, 2, 3, 4, 5].map((i) => ev(i, at('2026-01-05', i))), incidents: [1, 2].map((i) => alarm(i, at('2026-01-05', i))) });
    svc.run(sys, 'entries.ingest', { source: 'iq:1', entries: [6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((i) => ev(i, at('2026-02-20', i))) });
    svc.run(sys, 'entries.ingest', { source: 'iq:1', entries: [16, 17, 18, 19, 20, 21, 22, 23, 24, 25].map((i) => ev(i, at('2026-03-01', i))), incidents: [3, 4, 5, 6].map((i) => alarm(i, at('2026-03-01', i))) });
    svc.run(sys, 'incidents.acknowledge', { ids: ['4'], comment: 'closed it' });
    svc.run(sys, 'audit.settings.update', { retention_days: 30, anonymize_after_days: 7 });
    const r = svc.run(sys, 'audit.retention.run', {});
    expect(r).toEqual({ deleted_entries: 5, deleted_incidents: 2, anonymized_entries: 10, complete: true });
    expect(svc.run(sys, 'audit.verify', {}).ok).toBe(true);
  } finally {
    db.close();
  }
});

let caseNo = 0;
/** A copy of the base trail, edited by hand through a connection of its own. */
function tampered(edit: (raw: Database.Database) => void): string {
  const dir = join(root, `case-${++caseNo}`);
  mkdirSync(dir);
  copyFileSync(join(baseDir, 'gatehouse.db'), join(dir, 'gatehouse.db'));
  const raw = new Database(join(dir, 'gatehouse.db'));
  try {
    edit(raw);
  } finally {
    raw.close();
  }
  return dir;
}

function verifyDir(dir: string): AuditVerification {
  const db = openDatabase(join(dir, 'gatehouse.db'));
  try {
    // Through the service as the UI calls it, and directly as the CLI does: the same answer.
    const viaService = new GatehouseService(db).run(systemActor('test'), 'audit.verify', {});
    expect(verifyAudit(db.read)).toEqual(viaService);
    return viaService;
  } finally {
    db.close();
  }
}

async function cli(dir: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [BIN, '--data', dir, 'verify-audit'], { encoding: 'utf8', timeout: 60_000 });
    return { code: 0, out: r.stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

const rowOf = (raw: Database.Database, seq: number) => raw.prepare('SELECT * FROM entries WHERE seq = ?').get(seq) as Record<string, unknown> & { hash: Buffer };
const INSERT_ENTRY = `INSERT INTO entries (seq, utc_ms, utc_offset_min, device_ms, received_ms, event_category, event_detail, access_by, lock_ref, lock_name, iq_ref,
  user_ref, user_name, tag_ref, tag_number, source_ref, source_event_id, personal_salt, personal_digest, hash)
  VALUES (@seq, @utc_ms, @utc_offset_min, @device_ms, @received_ms, @event_category, @event_detail, @access_by, @lock_ref, @lock_name, @iq_ref,
  @user_ref, @user_name, @tag_ref, @tag_number, @source_ref, @source_event_id, @personal_salt, @personal_digest, @hash)`;
const stored = (r: Record<string, unknown>) => {
  const { day: _day, ...rest } = r;
  return rest;
};

type Chain = AuditVerification['chains'][number]['chain'];
interface Case {
  name: string;
  edit: (raw: Database.Database) => void;
  chain: Chain;
  seq: number;
  reason: RegExp;
  /** Chains reported broken; by default only `chain`. */
  broken?: Chain[];
  /** Also checked through `gatehouse verify-audit` (a process each: a representative few). */
  cli?: true;
}

const cases: Case[] = [
  { name: 'edit an entry’s event_category', cli: true, edit: (r) => r.exec(`UPDATE entries SET event_category = 'lock_opened', event_detail = NULL WHERE seq = 20`), chain: 'entries', seq: 20, reason: /content was edited/ },
  { name: 'edit an entry’s time by one millisecond', edit: (r) => r.exec('UPDATE entries SET utc_ms = utc_ms + 1 WHERE seq = 17'), chain: 'entries', seq: 17, reason: /content was edited/ },
  { name: 'edit the name of a lock in an old entry', edit: (r) => r.exec(`UPDATE entries SET lock_name = 'Back door' WHERE seq = 8`), chain: 'entries', seq: 8, reason: /content was edited/ },
  { name: 'edit a personal field (user_name)', cli: true, edit: (r) => r.exec(`UPDATE entries SET user_name = 'Mallory' WHERE seq = 19`), chain: 'entries', seq: 19, reason: /personal fields were edited/ },
  { name: 'edit a personal field (tag_number)', edit: (r) => r.exec(`UPDATE entries SET tag_number = '0000001002' WHERE seq = 21`), chain: 'entries', seq: 21, reason: /personal fields/ },
  {
    name: 'edit a personal field and drop the salt that checks it',
    edit: (r) => r.exec(`UPDATE entries SET user_name = 'Mallory', personal_salt = NULL WHERE seq = 22`),
    chain: 'entries',
    seq: 22,
    reason: /personal fields/,
  },
  { name: 'fill a name into an anonymised entry', edit: (r) => r.exec(`UPDATE entries SET user_name = 'Alice Adams', tag_number = '0000001001' WHERE seq = 9`), chain: 'entries', seq: 9, reason: /personal fields/ },
  { name: 'delete a middle row', cli: true, edit: (r) => r.exec('DELETE FROM entries WHERE seq = 12'), chain: 'entries', seq: 12, reason: /row 12 is missing/ },
  { name: 'delete three middle rows', edit: (r) => r.exec('DELETE FROM entries WHERE seq BETWEEN 12 AND 14'), chain: 'entries', seq: 12, reason: /rows 12–14 are missing/ },
  { name: 'delete the oldest rows left after retention', edit: (r) => r.exec('DELETE FROM entries WHERE seq IN (6, 7)'), chain: 'entries', seq: 6, reason: /rows 6–7 are missing/ },
  { name: 'delete the newest row', edit: (r) => r.exec('DELETE FROM entries WHERE seq = 25'), chain: 'entries', seq: 25, reason: /row 25, the newest, is missing/ },
  { name: 'delete the newest rows', cli: true, edit: (r) => r.exec('DELETE FROM entries WHERE seq >= 23'), chain: 'entries', seq: 23, reason: /rows 23–25, the newest, are missing/ },
  { name: 'delete every entry', edit: (r) => r.exec('DELETE FROM entries'), chain: 'entries', seq: 6, reason: /rows 6–25, the newest, are missing/ },
  {
    name: 'insert a forged row with a made-up hash',
    edit: (r) => r.prepare(INSERT_ENTRY).run({ ...stored(rowOf(r, 25)), seq: 26, source_event_id: 'forged', hash: Buffer.alloc(32, 7) }),
    chain: 'entries',
    seq: 26,
    reason: /content was edited|does not match/,
  },
  {
    name: 'append a forged row with a correctly computed hash', cli: true,
    edit: (r) => {
      const last = rowOf(r, 25);
      const forged = { ...stored(last), seq: 26, source_event_id: 'forged' };
      r.prepare(INSERT_ENTRY).run({ ...forged, hash: chainHash(last.hash, entryHashBody(forged as never)) });
    },
    chain: 'entries',
    seq: 26,
    reason: /chain head/,
  },
  {
    name: 'insert a forged row before the retention anchor',
    edit: (r) => r.prepare(INSERT_ENTRY).run({ ...stored(rowOf(r, 6)), seq: 3, source_event_id: 'forged' }),
    chain: 'entries',
    seq: 3,
    reason: /before the retention anchor/,
  },
  {
    name: 'replace a middle row by a forged one that chains to the row before',
    edit: (r) => {
      const before = rowOf(r, 17);
      const forged = { ...stored(rowOf(r, 18)), event_category: 'lock_rejected', event_detail: 'no_access' };
      r.prepare('DELETE FROM entries WHERE seq = 18').run();
      r.prepare(INSERT_ENTRY).run({ ...forged, hash: chainHash(before.hash, entryHashBody(forged as never)) });
    },
    // The forged row itself chains; the row after it no longer does.
    chain: 'entries',
    seq: 19,
    reason: /edited|does not follow/,
  },
  {
    name: 'swap two rows’ contents',
    edit: (r) => {
      const a = stored(rowOf(r, 17));
      const b = stored(rowOf(r, 23));
      r.prepare('DELETE FROM entries WHERE seq IN (17, 23)').run();
      r.prepare(INSERT_ENTRY).run({ ...b, seq: 17 });
      r.prepare(INSERT_ENTRY).run({ ...a, seq: 23 });
    },
    chain: 'entries',
    seq: 17,
    reason: /edited|does not follow/,
  },
  {
    name: 'two edits: the first one is reported',
    edit: (r) => r.exec(`UPDATE entries SET access_by = 'master_key' WHERE seq IN (11, 24)`),
    chain: 'entries',
    seq: 11,
    reason: /content was edited/,
  },
  { name: 'delete the recorded chain head', edit: (r) => r.exec(`DELETE FROM audit_chain_heads WHERE chain = 'entries'`), chain: 'entries', seq: 25, reason: /chain head is missing/ },
  { name: 'set the recorded chain head back', edit: (r) => r.exec(`UPDATE audit_chain_heads SET last_seq = 23 WHERE chain = 'entries'`), chain: 'entries', seq: 24, reason: /chain head/ },
  { name: 'edit the recorded chain head', edit: (r) => r.exec(`UPDATE audit_chain_heads SET last_hash = zeroblob(32) WHERE chain = 'entries'`), chain: 'entries', seq: 25, reason: /chain head/ },
  { name: 'edit an incident', cli: true, edit: (r) => r.exec(`UPDATE incidents SET incident_type = 'low_battery' WHERE seq = 5`), chain: 'incidents', seq: 5, reason: /content was edited/ },
  { name: 'delete an incident', edit: (r) => r.exec('DELETE FROM incidents WHERE seq = 4'), chain: 'incidents', seq: 4, reason: /row 4 is missing/ },
  { name: 'delete the newest incident', edit: (r) => r.exec('DELETE FROM incidents WHERE seq = 6'), chain: 'incidents', seq: 6, reason: /row 6, the newest, is missing/ },
  { name: 'edit an operator_log row', cli: true, edit: (r) => r.exec(`UPDATE operator_log SET actor_name = 'mallory' WHERE seq = 3`), chain: 'operator_log', seq: 3, reason: /content does not match its hash/ },
  {
    name: 'edit what an operator_log row says was changed',
    edit: (r) => r.exec(`UPDATE operator_log SET after = replace(after, 'closed it', 'all fine') WHERE command = 'incidents.acknowledge'`),
    chain: 'operator_log',
    seq: 8,
    reason: /content does not match its hash/,
  },
  // Like entries, the operator log reports a missing row by its own number.
  { name: 'delete an operator_log row', edit: (r) => r.exec('DELETE FROM operator_log WHERE seq = 4'), chain: 'operator_log', seq: 4, reason: /row 4 is missing/ },

  { name: 'edit a retention anchor', cli: true, edit: (r) => r.exec('UPDATE audit_anchors SET deleted_rows = 4 WHERE id = 1'), chain: 'anchors', seq: 1, reason: /retention anchor was edited/ },
  {
    name: 'move the anchor forward to hide rows deleted by hand',
    edit: (r) => {
      const hash = rowOf(r, 8).hash;
      r.exec('DELETE FROM entries WHERE seq <= 8');
      r.prepare('UPDATE audit_anchors SET first_seq = 9, prev_hash = ?, deleted_rows = 8 WHERE id = 1').run(hash);
    },
    chain: 'anchors',
    seq: 1,
    reason: /retention anchor was edited/,
  },
  {
    name: 'delete the latest retention anchor', cli: true,
    edit: (r) => r.exec('DELETE FROM audit_anchors WHERE id = 2'),
    // Without its anchor the incidents chain starts at the genesis, and its first rows are gone.
    chain: 'incidents',
    seq: 1,
    reason: /rows 1–2 are missing/,
  },
  {
    name: 'edit the hash an anchor carries',
    edit: (r) => r.exec('UPDATE audit_anchors SET prev_hash = zeroblob(32) WHERE id = 1'),
    chain: 'anchors',
    seq: 1,
    reason: /retention anchor was edited/,
    broken: ['entries', 'anchors'],
  },
];

describe('verify on an intact trail', () => {
  it('passes on a fresh, empty installation', () => {
    const db = openDatabase(':memory:');
    try {
      ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
      const r = new GatehouseService(db).run(systemActor('test'), 'audit.verify', {});
      expect(r.ok).toBe(true);
      expect(r.chains.map((c) => [c.chain, c.first_break])).toEqual([
        ['entries', null],
        ['incidents', null],
        ['anchors', null],
        ['operator_log', null],
      ]);
    } finally {
      db.close();
    }
  });

  it('passes after ingest, acknowledgement, retention and anonymisation, starting at the anchors', () => {
    const r = verifyDir(baseDir);
    expect(r.ok).toBe(true);
    expect(r.chains).toEqual([
      { chain: 'entries', rows: 20, first_break: null, anchored_at_seq: 6 },
      { chain: 'incidents', rows: 4, first_break: null, anchored_at_seq: 3 },
      { chain: 'anchors', rows: 2, first_break: null, anchored_at_seq: null },
      expect.objectContaining({ chain: 'operator_log', first_break: null }),
    ]);
  });

  it('gatehouse verify-audit exits 0 and says so', async () => {
    const r = await cli(baseDir);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('entries: ok, 20 row(s) (from retention anchor at row 6)');
    expect(r.out).toContain('incidents: ok, 4 row(s) (from retention anchor at row 3)');
    expect(r.out).toMatch(/operator_log: ok, \d+ row\(s\)/);
    expect(r.out).not.toMatch(/BROKEN/);
  });

  it('acknowledging an incident later does not break its chain (it is in the operator log)', () => {
    const dir = tampered(() => {});
    const db = openDatabase(join(dir, 'gatehouse.db'));
    try {
      const svc = new GatehouseService(db, { now: () => NOW + 60_000 });
      svc.run(systemActor('test'), 'incidents.acknowledge', { ids: ['5', '6'] });
      expect(verifyAudit(db.read).ok).toBe(true);
    } finally {
      db.close();
    }
  });
});

describe('ingest after the chain head was edited by hand', () => {
  it.each([
    ['deleted', `DELETE FROM audit_chain_heads`],
    ['set back', `UPDATE audit_chain_heads SET last_seq = last_seq - 2`],
  ])('never drops a new event as a duplicate: head %s', (_how, sql) => {
    const dir = tampered((r) => r.exec(sql));
    const db = openDatabase(join(dir, 'gatehouse.db'));
    try {
      const svc = new GatehouseService(db, { now: () => NOW });
      const sys = systemActor('test');
      const lockId = svc.run(sys, 'locks.list', {}).items[0]!.id;
      const count = () => db.read.prepare('SELECT count(*) FROM entries').pluck().get() as number;
      const alarms = () => db.read.prepare('SELECT count(*) FROM incidents').pluck().get() as number;
      // Entries and incidents separately: each must be either refused or really stored.
      const checks: Array<['entries' | 'incidents', { entries?: unknown[]; incidents?: unknown[] }, () => number]> = [
        ['entries', { entries: [{ event_id: 'after-tamper', time: '2026-03-02T11:00:00Z', event_category: 'lock_opened', lock_id: lockId }] }, count],
        ['incidents', { incidents: [{ event_id: 'alarm-after-tamper', time: '2026-03-02T11:00:00Z', incident_type: 'tamper', lock_id: lockId }] }, alarms],
      ];
      for (const [what, input, rows] of checks) {
        const before = rows();
        let result: IngestResult | null = null;
        try {
          result = svc.run(sys, 'entries.ingest', { source: 'iq:1', ...input });
        } catch (e) {
          // Refused: nothing stored, nothing acknowledged; the device keeps the event and sends it again.
          expect(e).toBeInstanceOf(GatehouseError);
          expect(rows()).toBe(before);
        }
        if (result) {
          expect(result[what], what).toEqual({ stored: 1, duplicates: 0 });
          expect(rows()).toBe(before + 1);
        }
      }
      expect(verifyAudit(db.read).ok).toBe(false);
    } finally {
      db.close();
    }
  });
});

describe('verify after editing the file by hand', () => {
  const dirs = new Map<string, string>();

  it.each(cases)('$name → $chain broken at row $seq', (c) => {
    const dir = tampered(c.edit);
    dirs.set(c.name, dir);
    const r = verifyDir(dir);
    expect(r.ok).toBe(false);
    const report = r.chains.find((x) => x.chain === c.chain)!;
    expect(report.first_break, JSON.stringify(r.chains)).not.toBeNull();
    expect(report.first_break!.seq, report.first_break!.reason).toBe(c.seq);
    expect(report.first_break!.reason).toMatch(c.reason);
    expect(r.chains.filter((x) => x.first_break).map((x) => x.chain)).toEqual(c.broken ?? [c.chain]);
  });

  it('gatehouse verify-audit prints the first broken row and exits 2', async () => {
    const results = await Promise.all(cases.filter((c) => c.cli).map(async (c) => ({ c, r: await cli(dirs.get(c.name)!) })));
    expect(results).toHaveLength(9);
    for (const { c, r } of results) {
      expect(r.code, `${c.name}\n${r.out}`).toBe(2);
      expect(r.out, c.name).toContain(`${c.chain}: BROKEN at row ${c.seq}: `);
      expect(r.out.split('\n').find((l) => l.startsWith(`${c.chain}: BROKEN`)), c.name).toMatch(c.reason);
      expect(r.out).toMatch(/altered outside Gatehouse/);
    }
  }, 120_000);
});
