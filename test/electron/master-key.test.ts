// The desktop app's master key on main's side (electron/main/master-key.ts), against the fake Electron's
// safeStorage: created once and wrapped by the OS key store, read back the same, shared with a folder
// `gatehouse serve` made, and refused with a message that says what to do.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileMasterKey, MASTER_KEY_FILE, MasterKeyError } from '../../core/secrets/master-key.ts';
import { keyStoreUsable, loadDesktopMasterKey, masterKeyFrom, masterKeyMessage } from '../../electron/main/master-key.ts';
import { createFakeElectron, FakeSafeStorage, memoryLog } from './fake-electron.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gh-desktop-key-'));
  dirs.push(d);
  return d;
}
const posix = process.platform !== 'win32';

function load(dir: string, safeStorage = createFakeElectron().safeStorage, platform: NodeJS.Platform = 'linux') {
  const log = memoryLog();
  return { key: loadDesktopMasterKey({ safeStorage, dataDir: dir, log, platform }), log, safeStorage };
}

function refusal(fn: () => unknown): MasterKeyError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MasterKeyError);
    return e as MasterKeyError;
  }
  throw new Error('expected a MasterKeyError');
}

describe('loadDesktopMasterKey', () => {
  it('creates master.key on first start, wrapped by the OS key store (mode 0600), and reads the same key back', () => {
    const dir = join(dataDir(), 'not-yet');
    const first = load(dir);
    expect(first.key).toHaveLength(32);
    const file = join(dir, MASTER_KEY_FILE);
    if (posix) {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    }
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { protection: string; key: string };
    expect(doc.protection).toBe('electron-safe-storage');
    const blob = Buffer.from(doc.key, 'base64');
    expect(blob.includes(Buffer.from(first.key))).toBe(false);
    expect(blob.includes(Buffer.from(Buffer.from(first.key).toString('base64')))).toBe(false);
    expect(first.log.lines).toEqual([`info created the master key ${file}, protected by the OS key store`]);
    // The next start (same user, same key store) unwraps the same key, quietly.
    const again = load(dir, first.safeStorage);
    expect(again.key).toEqual(first.key);
    expect(again.log.lines).toEqual([]);
  });

  it('the headless host cannot open a wrapped key, and says so', async () => {
    const dir = dataDir();
    load(dir);
    await expect(fileMasterKey(dir).load()).rejects.toThrow(/protected by the desktop app's OS key store/);
  });

  it("uses a key `gatehouse serve` made as it is, and leaves it so that serve can still open it", async () => {
    const dir = dataDir();
    const served = await fileMasterKey(dir).load();
    const desktop = load(dir);
    expect(desktop.key).toEqual(served);
    expect(desktop.log.lines).toEqual([expect.stringMatching(/^info the master key .* is not protected by the OS key store \(gatehouse serve made it/)]);
    expect(await fileMasterKey(dir).load()).toEqual(served);
  });

  it('without a usable key store (none, or Linux\'s hard-coded "basic_text"), writes the key unwrapped and warns', () => {
    for (const setup of [(s: FakeSafeStorage) => void (s.available = false), (s: FakeSafeStorage) => void (s.backend = 'basic_text')]) {
      const dir = dataDir();
      const safeStorage = new FakeSafeStorage();
      setup(safeStorage);
      const { key, log } = load(dir, safeStorage);
      expect(JSON.parse(readFileSync(join(dir, MASTER_KEY_FILE), 'utf8'))).toMatchObject({ protection: 'none', key: Buffer.from(key).toString('base64') });
      expect(log.lines).toEqual([expect.stringMatching(/^warn created the master key .* without the OS key store \(none is available here\)/)]);
    }
    // basic_text is Linux's fallback only.
    const s = new FakeSafeStorage();
    s.backend = 'basic_text';
    expect(keyStoreUsable(s, 'darwin')).toBe(true);
    expect(keyStoreUsable(s, 'linux')).toBe(false);
  });

  it('a wrapped key while the key store is unavailable (locked keyring): an error that says what to do', () => {
    const dir = dataDir();
    const { safeStorage } = load(dir);
    safeStorage.available = false;
    expect(refusal(() => load(dir, safeStorage)).message).toMatch(/protected by the OS key store, which is not available now; unlock your keyring/);
  });

  it("a key wrapped by another user's (or computer's) key store: an error, never a new key", () => {
    const dir = dataDir();
    const first = load(dir);
    const before = readFileSync(join(dir, MASTER_KEY_FILE));
    expect(refusal(() => load(dir, new FakeSafeStorage())).message).toMatch(/cannot be unwrapped by this user's OS key store .*made by another user or on another computer/);
    expect(readFileSync(join(dir, MASTER_KEY_FILE)).equals(before)).toBe(true);
    expect(load(dir, first.safeStorage).key).toEqual(first.key);
  });

  it.runIf(posix)('refuses a key file others may read, as the headless host does', () => {
    const dir = dataDir();
    load(dir);
    chmodSync(join(dir, MASTER_KEY_FILE), 0o644);
    expect(refusal(() => load(dir)).message).toMatch(/may be read or changed by others \(mode 0644\).*chmod 600/);
  });
});

describe('the master key message (main → core)', () => {
  it('carries 32 bytes as base64 and nothing else counts as one', () => {
    const key = new Uint8Array(32).map((_, i) => i);
    const message = masterKeyMessage(key);
    expect(message).toEqual({ type: 'master-key', key: Buffer.from(key).toString('base64') });
    expect(masterKeyFrom(JSON.parse(JSON.stringify(message)))).toEqual(key);
    for (const junk of [null, 'master-key', { type: 'master-key' }, { type: 'master-key', key: 42 }, { type: 'master-key', key: 'AAAA' }, { type: 'call', key: message.key }]) {
      expect(masterKeyFrom(junk)).toBeNull();
    }
  });
});
