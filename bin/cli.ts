// The `gatehouse` command: the headless host and maintenance tasks. This is also a composition root:
// it is where hardware drivers get wired to the core's ports.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { GatehouseError } from '../core/contract/errors.ts';
import { defaultDataDir, DATABASE_FILE } from '../core/host/data-dir.ts';
import { startHost, type RunningHost } from '../core/host/host.ts';
import { acquireInstanceLock, assertNotRunning } from '../core/host/instance-lock.ts';
import { ensureSite } from '../core/host/first-run.ts';
import { systemActor } from '../core/service/actor.ts';
import { GatehouseService } from '../core/service/service.ts';
import { backupDatabase, inspectBackup, restoreDatabase } from '../core/store/backup.ts';
import { openDatabase } from '../core/store/db.ts';
import { verifyAudit } from '../core/audit/verify.ts';

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
  .action(async (o: { port: number; host: string; demo?: boolean }) => {
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
    host = await startHost({
      dataDir: dataDir(),
      port: o.port,
      host: o.host,
      demo: !!o.demo,
      ownerPassword: process.env.GATEHOUSE_OWNER_PASSWORD,
      version: pkg.version,
      log: say,
    });
    say(`Gatehouse ${pkg.version} listening on ${host.url} (data: ${dataDir()})`);
    say(`REST API: ${host.url}/v1.1/sites — health: ${host.url}/api/health`);
    if (stopping) shutdown(host, stopping);
  });

function shutdown(host: RunningHost, signal: string): void {
  say(`${signal}: stopping`);
  host.close().then(
    () => process.exit(0),
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

try {
  await program.parseAsync();
} catch (e) {
  if (e instanceof GatehouseError) {
    process.stderr.write(`gatehouse: ${e.message}\n`);
    for (const i of e.issues ?? []) process.stderr.write(`  ${i.path}: ${i.message}\n`);
  } else process.stderr.write(`gatehouse: ${(e as Error).message}\n`);
  process.exit(1);
}
