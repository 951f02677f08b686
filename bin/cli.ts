// The `gatehouse` command: the headless host and maintenance tasks. This is also a composition root:
// it is where hardware drivers get wired to the core's ports.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { GatehouseError } from '../core/contract/errors.ts';
import { fileMasterKey } from '../core/secrets/master-key.ts';
import { SecretBox } from '../core/secrets/secret-box.ts';
import { defaultDataDir, DATABASE_FILE } from '../core/host/data-dir.ts';
import { startHost, type RunningHost } from '../core/host/host.ts';
import { acquireInstanceLock, assertNotRunning } from '../core/host/instance-lock.ts';
import { ensureSite } from '../core/host/first-run.ts';
import { systemActor } from '../core/service/actor.ts';
import { GatehouseService, parseInput } from '../core/service/service.ts';
import { backupDatabase, inspectBackup, restoreDatabase } from '../core/store/backup.ts';
import { openDatabase } from '../core/store/db.ts';
import { verifyAudit } from '../core/audit/verify.ts';
import { EXPORT_PAGE_CACHE_KIB, exportEntries } from '../core/audit/export.ts';
import { streams } from '../core/contract/contract.ts';
import { ACCESS_BY, ENTRY_CATEGORIES, ENTRY_DETAILS } from '../core/domain/audit.ts';
import { entryFilter } from '../core/service/handlers/audit.ts';
import { openBrowser } from './open-browser.ts';
import { createEncoders, type Encoders } from './encoders.ts';
import { ksConnector } from './cloud.ts';
import { createHubs, parseTcpTarget, type Hubs } from './hubs.ts';

/** Where `npm run build` puts the renderer. */
const UI_DIR = fileURLToPath(new URL('../out/renderer', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const say = (line: string) => process.stdout.write(`${line}\n`);
const actorName = () => `cli:${safeUser()}`;

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number 0–65535');
  return n;
}

function progress(label: string) {
  let last = -1;
  return (done: number, total: number) => {
    const pct = total ? Math.floor((done / total) * 100) : 100;
    if (pct === last) return;
    last = pct;
    if (process.stderr.isTTY) process.stderr.write(`\r${label}: ${pct}% (${done}/${total})${done >= total ? '\n' : ''}`);
    else if (pct % 10 === 0) process.stderr.write(`${label}: ${pct}% (${done}/${total})\n`);
  };
}

/** Opens the installation for a maintenance task that writes; refuses while a server runs on it. */
function withService<T>(dataDir: string, fn: (svc: GatehouseService) => T): T {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const unlock = acquireInstanceLock(dataDir);
  const db = openDatabase(join(dataDir, DATABASE_FILE));
  try {
    const first = ensureSite(db, { ownerPassword: process.env.GATEHOUSE_OWNER_PASSWORD });
    if (first.generatedPassword) {
      say(`Created operator 'owner' with password: ${first.generatedPassword}`);
      say('(shown once; set GATEHOUSE_OWNER_PASSWORD to choose it yourself)');
    }
    return fn(new GatehouseService(db));
  } finally {
    db.close();
    unlock();
  }
}

/** Opens an installation that must already exist (read-only tasks must not create one). */
function openExisting(dataDir: string) {
  const file = join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) throw new GatehouseError('not_found', `There is no Gatehouse installation in ${dataDir} (no ${DATABASE_FILE}); pass --data DIR`);
  return openDatabase(file);
}

const program = new Command()
  .name('gatehouse')
  .description('Gatehouse: on-premise site manager for smart-lock access control')
  .version(pkg.version)
  .option('--data <dir>', 'data directory of the installation', defaultDataDir());

const dataDir = () => resolve(program.opts<{ data: string }>().data);

program
  .command('serve')
  .description('run the engine and serve the REST API (and the UI) until stopped')
  .option('--port <n>', 'TCP port', port, Number(process.env.GATEHOUSE_PORT ?? 7373))
  .option('--host <address>', 'interface to listen on (default: this machine only)', process.env.GATEHOUSE_HOST ?? '127.0.0.1')
  .option('--demo', 'seed a demo site on first run')
  .option('--open', "open the UI in this desktop's default browser once serving")
  .option('--hub-tcp <host:port>', 'an IQ hub on the LAN (port default 7374); repeat for more', collectTcp, [])
  .option('--no-sim-hubs', 'with --demo: do not attach the three simulated hubs')
  .action(async (o: { port: number; host: string; demo?: boolean; open?: boolean; hubTcp: string[]; simHubs: boolean }) => {
    // Signals are handled from the start: a stop requested while starting up takes effect once the
    // host is up, so the database is always closed cleanly.
    let host: RunningHost | null = null;
    let stopping: string | null = null;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = signal;
      if (host) shutdown(host, signal);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    hubs = createHubs({ dataDir: dataDir(), log: say, tcp: o.hubTcp, simulated: !!o.demo && o.simHubs, spare: true });
    encoders = createEncoders({ log: say, simulated: !!o.demo });
    host = await startHost({
      dataDir: dataDir(),
      port: o.port,
      host: o.host,
      demo: !!o.demo,
      ownerPassword: process.env.GATEHOUSE_OWNER_PASSWORD,
      version: pkg.version,
      log: say,
      uiDir: UI_DIR,
      hubs: hubs.attach,
      encoders: encoders.attach,
      masterKey: fileMasterKey(dataDir()),
      cloud: ksConnector(),
      ...(process.env.GATEHOUSE_CLOUD_INTERVAL_S ? { cloudIntervalMs: Number(process.env.GATEHOUSE_CLOUD_INTERVAL_S) * 1000 } : {}),
    });
    say(`Gatehouse ${pkg.version} listening on ${host.url} (data: ${dataDir()})`);
    const uiBuilt = existsSync(join(UI_DIR, 'index.html'));
    if (uiBuilt) say(`Open ${host.url}/ in a browser to use Gatehouse.`);
    else say('The web UI is not built (npm run build); the REST API works without it.');
    if (o.open && uiBuilt) {
      const problem = await openBrowser(`${host.url}/`);
      say(problem ? `Could not open a browser (${problem}); open ${host.url}/ yourself.` : `Opened ${host.url}/ in the default browser.`);
    }
    say(`REST API: ${host.url}/v1.1/sites — health: ${host.url}/api/health`);
    if (o.demo && o.simHubs) say('Demo: three simulated IQ hubs are attached (over a simulated USB bus; --no-sim-hubs to leave them out).');
    if (o.demo) say('Demo: a simulated card encoder is attached, with a tray of blank and encoded cards (the Encoder station page).');
    if (stopping) shutdown(host, stopping);
  });

let hubs: Hubs | null = null;
let encoders: Encoders | null = null;

function collectTcp(value: string, previous: string[]): string[] {
  try {
    parseTcpTarget(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return [...previous, value];
}

function shutdown(host: RunningHost, signal: string): void {
  say(`${signal}: stopping`);
  host.close().then(
    () => {
      void Promise.allSettled([hubs?.close(), encoders?.close()]).then(() => process.exit(0));
    },
    (e) => {
      process.stderr.write(`error while stopping: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}

const users = program.command('users').description('people');
users
  .command('import <file>')
  .description('import people from CSV (see docs/csv-import.md); writes nothing if any row is bad')
  .option('--dry-run', 'check the file and report, write nothing')
  .action((file: string, o: { dryRun?: boolean }) => {
    const csv = readFileSync(file, 'utf8');
    const report = withService(dataDir(), (svc) =>
      svc.run(systemActor(actorName()), 'users.import_csv', { csv, dry_run: !!o.dryRun }, { onProgress: progress('import') }),
    );
    for (const e of report.errors) say(`${file}:${e.line}${e.column ? ` [${e.column}]` : ''}: ${e.message}`);
    if (report.errors.length) {
      say(`${report.errors.length} problem(s) in ${report.rows} row(s); nothing was imported.`);
      process.exitCode = 1;
    } else say(`${report.dry_run ? 'Dry run: would create' : 'Created'} ${report.created} and ${report.dry_run ? 'update' : 'updated'} ${report.updated} of ${report.rows} row(s).`);
  });

program
  .command('backup <file>')
  .description('write an online backup of the database (safe while the server runs)')
  .action(async (file: string) => {
    const db = openExisting(dataDir());
    try {
      const r = await backupDatabase(db, resolve(file), progress('backup'));
      say(`Backup written: ${r.file} (${r.bytes} bytes)`);
    } finally {
      db.close();
    }
  });

program
  .command('restore <file>')
  .description('replace the database with a backup (stop the server first; the current file is kept aside)')
  .action((file: string) => {
    const dir = dataDir();
    assertNotRunning(dir);
    const info = inspectBackup(resolve(file));
    const r = restoreDatabase(resolve(file), join(dir, DATABASE_FILE));
    say(`Restored ${info.siteName ?? 'site'} from ${file} (schema ${info.schemaVersion}).${r.previous ? ` The previous database is kept as ${r.previous}.` : ''}`);
  });

const site = program.command('site').description('the whole site model as a JSON document (docs/site-document.md)');
site
  .command('export [file]')
  .description('write the site model as JSON (to stdout without a file)')
  .action((file: string | undefined) => {
    const db = openExisting(dataDir());
    try {
      const doc = new GatehouseService(db).run(systemActor(actorName()), 'site.export', {});
      const text = `${JSON.stringify(doc, null, 2)}\n`;
      if (file) {
        writeFileSync(file, text);
        say(`Site exported to ${file}`);
      } else process.stdout.write(text);
    } finally {
      db.close();
    }
  });
site
  .command('import <file>')
  .description('load a site document into this installation (its site model must be empty, or use --replace)')
  .option('--replace', 'replace the current site model')
  .option('--dry-run', 'check the document, write nothing')
  .action((file: string, o: { replace?: boolean; dryRun?: boolean }) => {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new GatehouseError('validation', `${file} is not valid JSON: ${(e as Error).message}`);
    }
    const r = withService(dataDir(), (svc) => svc.run(systemActor(actorName()), 'site.import', { document: doc as never, replace: !!o.replace, dry_run: !!o.dryRun }, { onProgress: progress('import') }));
    say(`${o.dryRun ? 'Dry run: the document is valid' : 'Imported'}: ${Object.entries(r.counts).map(([k, v]) => `${v} ${k}`).join(', ')}`);
  });

const siteKey = program.command('site-key').description("the site's card key, which every card credential is made under (docs/credentials.md)");

/** The passphrase from --passphrase-file or GATEHOUSE_SITE_KEY_PASSPHRASE: never a command-line argument (it would be in the shell history). */
function passphrase(o: { passphraseFile?: string }): string {
  const p = o.passphraseFile ? readFileSync(o.passphraseFile, 'utf8').replace(/\r?\n$/, '') : process.env.GATEHOUSE_SITE_KEY_PASSPHRASE;
  if (!p) throw new GatehouseError('validation', 'Give the passphrase in a file (--passphrase-file) or in GATEHOUSE_SITE_KEY_PASSPHRASE');
  return p;
}

/** The installation's sealing box, from `<data>/master.key` (made on first use, like `serve` does). */
async function secretBox(): Promise<SecretBox> {
  mkdirSync(dataDir(), { recursive: true, mode: 0o700 });
  return new SecretBox(await fileMasterKey(dataDir()).load());
}

siteKey
  .command('export <file>')
  .description('write the card key, under a passphrase, to a new file (keep it apart from the backups)')
  .option('--passphrase-file <file>', 'read the passphrase (at least 10 characters) from this file')
  .action(async (file: string, o: { passphraseFile?: string }) => {
    const secret = passphrase(o);
    const box = await secretBox();
    const r = withService(dataDir(), (svc) => {
      svc.secrets = box;
      return svc.run(systemActor(actorName()), 'site.key_export', { passphrase: secret });
    });
    // wx: an earlier backup is never overwritten; 0600: the file is half of what opens every card.
    writeFileSync(resolve(file), r.text, { flag: 'wx', mode: 0o600 });
    say(`Card key (fingerprint ${r.fingerprint}) written to ${file}. Keep it and its passphrase apart.`);
  });

siteKey
  .command('import <file>')
  .description("make a backed-up card key of this site the current one (after restoring the site's database on another computer)")
  .option('--passphrase-file <file>', 'read the passphrase from this file')
  .action(async (file: string, o: { passphraseFile?: string }) => {
    const secret = passphrase(o);
    const text = readFileSync(resolve(file), 'utf8');
    const box = await secretBox();
    const r = withService(dataDir(), (svc) => {
      svc.secrets = box;
      return svc.run(systemActor(actorName()), 'site.key_import', { text, passphrase: secret });
    });
    say(`Card key ${r.fingerprint} is current (generation ${r.generation}, ${r.source}).`);
  });

program
  .command('verify-audit')
  .description('check the hash chains of the audit trail and the operator log (docs/audit.md)')
  .action(() => {
    const db = openExisting(dataDir());
    try {
      const report = verifyAudit(db.read, progress('verify'));
      for (const c of report.chains) {
        const anchored = c.anchored_at_seq ? ` (from retention anchor at row ${c.anchored_at_seq})` : '';
        say(c.first_break ? `${c.chain}: BROKEN at row ${c.first_break.seq}: ${c.first_break.reason}` : `${c.chain}: ok, ${c.rows} row(s)${anchored}`);
      }
      if (!report.ok) {
        say('The audit trail has been altered outside Gatehouse. Keep this database as evidence and restore a backup to continue.');
        process.exitCode = 2;
      }
    } finally {
      db.close();
    }
  });

// `export entries`: read-only, so it runs beside a server (its own connection, one read transaction:
// the file is a consistent snapshot while the server keeps writing).
const EXPORT_OPTIONS = {
  lock_id: '--lock',
  user_id: '--user',
  tag_id: '--tag',
  tag_number: '--tag-number',
  iq_id: '--iq',
  event_category: '--category',
  event_detail: '--detail',
  access_by: '--access-by',
  from: '--from',
  until: '--until',
  format: '--format',
} as const;

/** Checks the options with the contract's schema; problems name the option, not the field. */
function exportInput(o: Record<string, string | undefined>) {
  const raw = Object.fromEntries(
    Object.entries({ format: o.format, lock_id: o.lock, user_id: o.user, tag_id: o.tag, tag_number: o.tagNumber, iq_id: o.iq, event_category: o.category, event_detail: o.detail, access_by: o.accessBy, from: o.from, until: o.until }).filter(([, v]) => v !== undefined),
  );
  try {
    const input = parseInput(streams['entries.export'].input, raw) as { format: 'csv' | 'jsonl' } & Record<string, unknown>;
    const { format, ...filter } = input;
    if (typeof filter.from === 'string' && typeof filter.until === 'string' && Date.parse(filter.until) <= Date.parse(filter.from)) {
      throw new GatehouseError('validation', '--until: must be after --from', [{ path: 'until', message: 'must be after --from' }]);
    }
    return { format, filter: entryFilter(filter) };
  } catch (e) {
    if (!(e instanceof GatehouseError) || !e.issues?.length) throw e;
    const issues = e.issues.map((i) => ({ path: EXPORT_OPTIONS[i.path as keyof typeof EXPORT_OPTIONS] ?? i.path, message: i.message }));
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    throw new GatehouseError(e.code, `${issues[0]!.path}: ${issues[0]!.message}${more}`, issues);
  }
}

const exporting = program.command('export').description('export data (read-only; safe while the server runs)');
exporting
  .command('entries')
  .description('the audit trail of a filter as CSV or JSON lines, oldest first, with UTC and local times (docs/audit.md)')
  .option('--format <format>', 'csv or jsonl', 'csv')
  .option('--lock <id>', 'entries of this lock')
  .option('--user <id>', 'entries of this person')
  .option('--tag <id>', 'entries of this tag')
  .option('--tag-number <number>', 'entries with this tag number (also unknown tags)')
  .option('--iq <id>', 'entries of this IQ')
  .option('--category <category>', `event category: ${ENTRY_CATEGORIES.join(', ')}`)
  .option('--detail <detail>', `event detail: ${ENTRY_DETAILS.join(', ')}`)
  .option('--access-by <how>', `how the door was opened: ${ACCESS_BY.join(', ')}`)
  .option('--from <instant>', 'from this instant, inclusive (ISO-8601 with an offset, e.g. 2026-01-01T00:00:00+01:00)')
  .option('--until <instant>', 'until this instant, exclusive')
  .option('--out <file>', 'write to this file (it appears only when complete); default: standard output')
  .action(async (o: Record<string, string | undefined>) => {
    const { format, filter } = exportInput(o);
    const out = o.out === undefined ? null : resolve(o.out);
    if (out && existsSync(out) && statSync(out).isDirectory()) throw new GatehouseError('validation', `--out: ${out} is a directory`, [{ path: '--out', message: 'is a directory' }]);
    const db = openExisting(dataDir());
    // A stop requested mid-way ends the export cleanly (the partial file is removed); a reader that
    // goes away (`| head`) just ends it.
    let stopped: NodeJS.Signals | null = null;
    const stop = (signal: NodeJS.Signals) => void (stopped = signal);
    let pipeClosed = false;
    const onStdoutError = (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      pipeClosed = true;
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (!out) process.stdout.on('error', onStdoutError);
    let temp: string | null = null;
    let fd: number | null = null;
    try {
      db.read.pragma(`cache_size = -${EXPORT_PAGE_CACHE_KIB}`);
      db.read.exec('BEGIN');
      if (out) {
        temp = join(dirname(out), `.${basename(out)}.${process.pid}.partial`);
        try {
          fd = openSync(temp, 'wx', 0o600);
        } catch (e) {
          temp = null;
          throw new GatehouseError('validation', `--out: cannot write to ${dirname(out)} (${(e as NodeJS.ErrnoException).code})`, [{ path: '--out', message: 'cannot write there' }]);
        }
      }
      const showProgress = out !== null || !process.stdout.isTTY;
      const report = progress('export');
      let rows = 0;
      const chunks = exportEntries(db.read, { format, filter, onProgress: (done, total) => ((rows = done), showProgress && report(done, total)) });
      for (const chunk of chunks) {
        if (fd !== null) writeSync(fd, chunk);
        else if (!process.stdout.write(chunk)) await once(process.stdout, 'drain').catch(onStdoutError);
        // Between chunks, let signals and errors in.
        await new Promise((r) => setImmediate(r));
        if (stopped) throw new GatehouseError('unavailable', `${stopped}: export stopped${out ? `; ${out} was not written` : ''}`);
        if (pipeClosed) return;
      }
      if (fd !== null && temp && out) {
        fsyncSync(fd);
        closeSync(fd);
        fd = null;
        renameSync(temp, out);
        temp = null;
        say(`Exported ${rows} entr${rows === 1 ? 'y' : 'ies'} to ${out}`);
      }
    } finally {
      if (fd !== null) closeSync(fd);
      if (temp) rmSync(temp, { force: true });
      if (db.read.inTransaction) db.read.exec('ROLLBACK');
      db.close();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.off('error', onStdoutError);
    }
  });

try {
  await program.parseAsync();
} catch (e) {
  if (e instanceof GatehouseError) {
    process.stderr.write(`gatehouse: ${e.message}\n`);
    for (const i of e.issues ?? []) process.stderr.write(`  ${i.path}: ${i.message}\n`);
  } else process.stderr.write(`gatehouse: ${(e as Error).message}\n`);
  process.exit(1);
}
