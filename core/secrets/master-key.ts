// The installation's master key (32 random bytes), under which secrets at rest are sealed
// (secret-box.ts). It lives in the data folder as `master.key`, next to the database but never in it,
// so that a database backup alone does not open the secrets it holds.
//
// The core reads it through a MasterKeySource port:
// - headless (`gatehouse serve`, the CLI): fileMasterKey, the key in the file as it is, protected by the
//   file system: mode 0600, owned by the user Gatehouse runs as, in a folder that user owns; anything
//   wider is refused with a message that says how to fix it;
// - the desktop app: the same file, but its key encrypted with Electron's safeStorage (the OS key store),
//   unwrapped by the main process (electron/main/master-key.ts) and handed to the core's process.
//
// The file is JSON: {"format": "gatehouse-master-key", "version": 1, "protection": "none" |
// "electron-safe-storage", "key": base64}. It is created once, atomically (written to a temporary file,
// synced, then linked into place so that two processes cannot both create one), and never overwritten:
// losing it loses every sealed secret.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MASTER_KEY_LENGTH } from './secret-box.ts';

export const MASTER_KEY_FILE = 'master.key';
const FORMAT = 'gatehouse-master-key';

/** How the key in the file is protected: not at all (file permissions only), or by the desktop's OS key store. */
export type KeyProtection = 'none' | 'electron-safe-storage';

/** What master.key holds: the key itself (protection none) or its protected form. */
export interface StoredMasterKey {
  protection: KeyProtection;
  key: Uint8Array;
}

export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

/** Where the core gets the master key from. */
export interface MasterKeySource {
  /** For messages: the file, or what stands for it. */
  readonly where: string;
  /** The 32-byte master key, created on first use. Rejects with a MasterKeyError that says what to do. */
  load(): Promise<Uint8Array>;
}

export interface KeyFileOptions {
  /** Default process.platform: the permission checks run on POSIX systems only (Windows has ACLs). */
  platform?: NodeJS.Platform;
}

const isPosix = (o: KeyFileOptions) => (o.platform ?? process.platform) !== 'win32';

/** The headless source: `<dataDir>/master.key`, unprotected but for its permissions; generated on first use. */
export function fileMasterKey(dataDir: string, o: KeyFileOptions = {}): MasterKeySource {
  const file = join(dataDir, MASTER_KEY_FILE);
  return {
    where: file,
    load() {
      try {
        let stored = readMasterKeyFile(file, o);
        stored ??= createMasterKeyFile(file, { protection: 'none', key: randomBytes(MASTER_KEY_LENGTH) }, o);
        if (stored.protection !== 'none') {
          throw new MasterKeyError(
            `${file} is protected by the desktop app's OS key store (${stored.protection}); only the Gatehouse desktop app can open it. ` +
              'Run the desktop app on this data folder, or give this installation its own --data folder.',
          );
        }
        return Promise.resolve(checkedKey(stored.key, file));
      } catch (e) {
        return Promise.reject(e instanceof MasterKeyError ? e : new MasterKeyError(`${file}: ${(e as Error).message}`));
      }
    },
  };
}

/** A key handed over by someone who already unwrapped it (the desktop's main process). */
export function givenMasterKey(key: Uint8Array, where: string): MasterKeySource {
  const copy = key.slice();
  return {
    where,
    load: () => {
      try {
        return Promise.resolve(checkedKey(copy, where));
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };
}

/**
 * Reads master.key, or null when there is none. Throws MasterKeyError when it cannot be trusted (POSIX:
 * not a regular file, not owned by us, readable or writable by others, in a folder we do not own) or
 * cannot be read.
 */
export function readMasterKeyFile(file: string, o: KeyFileOptions = {}): StoredMasterKey | null {
  let fd: number;
  try {
    // O_NOFOLLOW: a symbolic link planted in its place is refused, not followed.
    fd = openSync(file, constants.O_RDONLY | (isPosix(o) ? (constants.O_NOFOLLOW ?? 0) : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new MasterKeyError(`${file} is a symbolic link; the master key must be a regular file in the data folder`);
    throw new MasterKeyError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    if (isPosix(o)) checkPermissions(file, fstatSync(fd));
    const text = readFileSync(fd, 'utf8');
    return parseKeyFile(text, file);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates master.key with mode 0600, atomically, unless it exists: then the one there wins (another
 * process was faster) and is returned. The key is on disk, and its folder entry synced, before this
 * returns, so nothing is ever sealed under a key a power cut could lose.
 */
export function createMasterKeyFile(file: string, stored: StoredMasterKey, o: KeyFileOptions = {}): StoredMasterKey {
  const dir = dirname(file);
  if (isPosix(o)) checkFolder(dir);
  removeStaleTemporaries(file);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const body = `${JSON.stringify({ format: FORMAT, version: 1, protection: stored.protection, key: Buffer.from(stored.key).toString('base64') })}\n`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, body);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new MasterKeyError(`cannot create ${file}: ${(e as Error).message}`);
  } finally {
    unlinkSync(tmp);
  }
  syncFolder(dir);
  const now = readMasterKeyFile(file, o);
  if (!now) throw new MasterKeyError(`${file} vanished right after it was created`);
  return now;
}

function parseKeyFile(text: string, file: string): StoredMasterKey {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new MasterKeyError(`${file} is not a Gatehouse master key file (not JSON). Restore it from your backup of the data folder; a new one would not open the secrets sealed under it.`);
  }
  const d = doc as { format?: unknown; version?: unknown; protection?: unknown; key?: unknown };
  if (d?.format !== FORMAT || d.version !== 1 || typeof d.key !== 'string' || (d.protection !== 'none' && d.protection !== 'electron-safe-storage')) {
    throw new MasterKeyError(`${file} is not a Gatehouse master key file of a version this Gatehouse knows`);
  }
  return { protection: d.protection, key: new Uint8Array(Buffer.from(d.key, 'base64')) };
}

function checkedKey(key: Uint8Array, where: string): Uint8Array {
  if (key.length !== MASTER_KEY_LENGTH) throw new MasterKeyError(`${where}: the master key is ${key.length} bytes, not ${MASTER_KEY_LENGTH}; the file is damaged`);
  return key;
}

function checkPermissions(file: string, st: { mode: number; uid: number; isFile(): boolean }): void {
  if (!st.isFile()) throw new MasterKeyError(`${file} is not a regular file`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new MasterKeyError(`${file} belongs to user id ${st.uid}, not to the user Gatehouse runs as (${uid}); only that user may own it (chown it, or run Gatehouse as its owner)`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new MasterKeyError(
      `${file} may be read or changed by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); only its owner may have access. ` +
        `Fix it with: chmod 600 '${file}'`,
    );
  }
  checkFolder(dirname(file));
}

function checkFolder(dir: string): void {
  const uid = process.getuid?.();
  const st = statSync(dir);
  if (uid !== undefined && st.uid !== uid) {
    throw new MasterKeyError(`the data folder ${dir} belongs to user id ${st.uid}, not to the user Gatehouse runs as (${uid}); the master key must live in a folder that user owns`);
  }
}

/** Temporaries a crash left behind (each holds a key nobody uses); a minute old, so never one being written now. */
function removeStaleTemporaries(file: string): void {
  const prefix = `${basename(file)}.`;
  for (const name of readdirSync(dirname(file))) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const path = join(dirname(file), name);
    try {
      if (Date.now() - statSync(path).mtimeMs > 60_000) unlinkSync(path);
    } catch {
      // Gone already.
    }
  }
}

function syncFolder(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows cannot open a folder for syncing; its file system journals the link.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
