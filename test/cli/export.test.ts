// `gatehouse export entries` as an installer runs it: a file with one record per entry of the filter,
// standard output, refusals that name the option (exit code 1, nothing written), an export beside a
// running server, and a stopped export that leaves neither a partial file nor a temporary one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildLargeAudit } from '../../bench/fixtures/large-audit.ts';
import { EXPORT_COLUMNS } from '../../core/audit/export.ts';
import { ensureSite } from '../../core/host/first-run.ts';
import { systemActor } from '../../core/service/actor.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase } from '../../core/store/db.ts';

const BIN = join(process.cwd(), 'bin', 'gatehouse.mjs');
const root = mkdtempSync(join(tmpdir(), 'gh-export-'));
const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function gatehouse(dataDir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--data', dataDir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GATEHOUSE_OWNER_PASSWORD: 'correct horse battery' },
    timeout: 120_000,
    maxBuffer: 64 * 2 ** 20,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const exited = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null || p.signalCode !== null ? r(p.exitCode) : p.on('exit', (c) => r(c))));

/** What a directory holds besides what it held before: the export must leave no stray file. */
const filesIn = (dir: string) => readdirSync(dir).sort();

/**
 * An installation with an IQ, two doors, three people with a tag each and 1,500 entries over ten days
 * (openings, refusals, inside handles), stored through the real ingest path.
 */
function install(dir: string) {
  mkdirSync(dir, { recursive: true });
  const db = openDatabase(join(dir, 'gatehouse.db'));
  try {
    ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    const svc = new GatehouseService(db);
    const sys = systemActor('test');
    const iq = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-45', customer_reference: 'IQ 1' });
    const front = svc.run(sys, 'locks.create', { customer_reference: 'Front door, main', iq_id: iq.id });
    const back = svc.run(sys, 'locks.create', { customer_reference: 'Back door', iq_id: iq.id });
    const people = ['Anna', 'Daan', 'Emma'].map((first, i) => {
      const u = svc.run(sys, 'users.create', { first_name: first, last_name: `de "${i}" Jong` });
      return svc.run(sys, 'tags.create', { tag_number: `000000100${i}`, user_id: u.id });
    });
    const start = Date.now() - 10 * 86_400_000;
    const entries = Array.from({ length: 1500 }, (_, i) => ({
      event_id: `e${i}`,
      time: new Date(start + i * 9 * 60_000).toISOString(),
      event_category: i % 10 === 9 ? 'lock_rejected' : 'lock_opened',
      ...(i % 10 === 9 ? { event_detail: 'outside_schedule' } : {}),
      access_by: 'tag',
      lock_id: i % 3 === 0 ? back.id : front.id,
      tag_number: people[i % 3]!.tag_number,
    }));
    for (let i = 0; i < entries.length; i += 500) svc.run(sys, 'entries.ingest', { source: `iq:${iq.id}`, entries: entries.slice(i, i + 500), incidents: [] });
    const count = (filter: Record<string, string>) => svc.run(sys, 'entries.list', { ...filter, limit: 1, with_count: true }).count!;
    return {
      front,
      back,
      total: count({}),
      frontCount: count({ lock_id: front.id }),
      rejectedBack: count({ lock_id: back.id, event_category: 'lock_rejected' }),
    };
  } finally {
    db.close();
  }
}

describe('gatehouse export entries', () => {
  const data = join(root, 'site');
  const outDir = join(root, 'out');
  let site: ReturnType<typeof install>;
  beforeAll(() => {
    site = install(data);
    mkdirSync(outDir);
  });

  it('writes a file with the header and one line per entry of the filter', () => {
    const file = join(outDir, 'front.csv');
    const r = gatehouse(data, 'export', 'entries', '--lock', site.front.id, '--out', file);
    expect(r.err).toMatch(/export: 100% \(\d+\/\d+\)/);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`Exported ${site.frontCount} entries to ${file}\n`);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(site.frontCount).toBeGreaterThan(900);
    expect(lines).toHaveLength(site.frontCount + 1);
    expect(lines[0]).toBe(EXPORT_COLUMNS.join(','));
    const records = parse(readFileSync(file), { columns: true }) as Array<Record<string, string>>;
    expect(new Set(records.map((x) => x.lock_id))).toEqual(new Set([site.front.id]));
    expect(records[0]!.lock_customer_reference).toBe('Front door, main');
    expect(records.map((x) => x.utc_date_time)).toEqual(records.map((x) => x.utc_date_time).sort());
    expect(filesIn(outDir)).toEqual(['front.csv']);
  });

  it('combines filters, writes JSON lines, and writes to standard output without --out', () => {
    const r = gatehouse(data, 'export', 'entries', '--format', 'jsonl', '--lock', site.back.id, '--category', 'lock_rejected', '--detail', 'outside_schedule', '--from', '2000-01-01T00:00:00+01:00');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n').filter(Boolean);
    expect(site.rejectedBack).toBeGreaterThan(10);
    expect(lines).toHaveLength(site.rejectedBack);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ lock_id: site.back.id, event_category: 'lock_rejected', event_detail: 'outside_schedule' });
    const all = gatehouse(data, 'export', 'entries');
    expect(all.code).toBe(0);
    expect(all.out.split('\n').filter(Boolean)).toHaveLength(site.total + 1);
  });

  it('refuses bad options with exit code 1 and a message naming the option, and writes nothing', () => {
    const file = join(outDir, 'bad.csv');
    const before = filesIn(outDir);
    const cases: Array<[string[], RegExp]> = [
      [['--category', 'opened'], /^gatehouse: --category: .*expected one of "lock_opened"/m],
      [['--detail', 'sideways'], /^gatehouse: --detail: /m],
      [['--format', 'xml'], /^gatehouse: --format: .*"csv"\|"jsonl"/m],
      [['--from', 'yesterday'], /^gatehouse: --from: must be an ISO-8601 date-time with an offset/m],
      [['--from', '2026-03-01T00:00:00'], /^gatehouse: --from: must be an ISO-8601 date-time with an offset/m],
      [['--from', '2026-03-02T00:00:00Z', '--until', '2026-03-01T00:00:00Z'], /^gatehouse: --until: must be after --from/m],
      [['--lock', ''], /^gatehouse: --lock: must not be empty/m],
      [['--tag-number', '12'], /^gatehouse: --tag-number: /m],
      [['--out', join(root, 'no-such-dir', 'x.csv')], /^gatehouse: --out: cannot write to /m],
      [['--out', outDir], /^gatehouse: --out: .* is a directory/m],
    ];
    for (const [args, message] of cases) {
      const r = gatehouse(data, 'export', 'entries', '--out', file, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.out, args.join(' ')).toBe('');
      expect(filesIn(outDir), args.join(' ')).toEqual(before);
    }
    const missing = gatehouse(join(root, 'nothing-here'), 'export', 'entries', '--out', file);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/There is no Gatehouse installation/);
    expect(existsSync(join(root, 'nothing-here'))).toBe(false);
  });

  it('leaves an existing file as it was when it fails, and replaces it whole when it succeeds', () => {
    const file = join(outDir, 'kept.csv');
    writeFileSync(file, 'previous export\n');
    expect(gatehouse(data, 'export', 'entries', '--out', file, '--iq', '').code).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('previous export\n');
    expect(gatehouse(data, 'export', 'entries', '--out', file, '--lock', 'no-such-lock').code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`${EXPORT_COLUMNS.join(',')}\n`);
  });

  it('runs while a server holds the data folder', async () => {
    const server = spawn(process.execPath, [BIN, '--data', data, 'serve', '--port', '0'], {
      env: { ...process.env, GATEHOUSE_OWNER_PASSWORD: 'correct horse battery' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(server);
    let log = '';
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (b) => {
        log += String(b);
        if (/listening on http/.test(log)) resolve();
      });
      server.stderr!.on('data', (b) => (log += String(b)));
      server.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${log}`)));
    });
    expect(existsSync(join(data, 'gatehouse.pid'))).toBe(true);
    // A task that writes is refused; the export is not.
    const people = join(root, 'people.csv');
    writeFileSync(people, 'first_name,last_name\nFenna,Bos\n');
    expect(gatehouse(data, 'users', 'import', people).err).toMatch(/Another Gatehouse \(pid \d+\) is using/);
    const file = join(outDir, 'while-serving.jsonl');
    const r = gatehouse(data, 'export', 'entries', '--format', 'jsonl', '--out', file);
    expect(r.err).not.toMatch(/gatehouse:/);
    expect(r.code).toBe(0);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(site.total);
    server.kill('SIGTERM');
    expect(await exited(server)).toBe(0);
  });
});

describe('a stopped export', () => {
  const data = join(root, 'big');
  const outDir = join(root, 'big-out');
  beforeAll(() => {
    mkdirSync(data);
    mkdirSync(outDir);
    buildLargeAudit(join(data, 'gatehouse.db'), { entries: 200_000, days: 30, seed: 7 }).db.close();
  }, 120_000);

  it.each(['SIGTERM', 'SIGINT'] as const)('leaves no file behind when stopped with %s', async (signal) => {
    const file = join(outDir, `${signal}.csv`);
    const proc = spawn(process.execPath, [BIN, '--data', data, 'export', 'entries', '--out', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(proc);
    let err = '';
    proc.stderr!.on('data', (b) => (err += String(b)));
    // Stop it once it is writing.
    const partial = new RegExp(`^\\.${signal}\\.csv\\.\\d+\\.partial$`);
    while (!readdirSync(outDir).some((f) => partial.test(f))) {
      if (proc.exitCode !== null) throw new Error(`the export ended before it could be stopped:\n${err}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    proc.kill(signal);
    expect(await exited(proc)).toBe(1);
    expect(err).toMatch(new RegExp(`gatehouse: ${signal}: export stopped; ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was not written`));
    expect(readdirSync(outDir)).toEqual([]);
  });
});
