// The headless master key: created once with mode 0600, read back the same, and refused with a message
// that says what to do when its file cannot be trusted.
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMasterKeyFile, fileMasterKey, givenMasterKey, MASTER_KEY_FILE, MasterKeyError, readMasterKeyFile } from './master-key.ts';
import { MASTER_KEY_LENGTH, SecretBox } from './secret-box.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gh-master-key-'));
  dirs.push(d);
  return d;
}
const asRoot = process.getuid?.() === 0;
const posix = process.platform !== 'win32';

async function refusal(p: Promise<unknown>): Promise<MasterKeyError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MasterKeyError);
  return e as MasterKeyError;
}

describe('fileMasterKey (headless)', () => {
  it('generates the key on first use into <data>/master.key, mode 0600, and reads the same key afterwards', async () => {
    const dir = dataDir();
    const file = join(dir, MASTER_KEY_FILE);
    expect(existsSync(file)).toBe(false);
    const key = await fileMasterKey(dir).load();
    expect(key).toHaveLength(MASTER_KEY_LENGTH);
    if (posix) expect(statSync(file).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({ format: 'gatehouse-master-key', version: 1, protection: 'none' });
    expect(Buffer.from(doc.key as string, 'base64')).toEqual(Buffer.from(key));
    // A second process (or a restart) gets the same key; nothing is left beside it.
    expect(await fileMasterKey(dir).load()).toEqual(key);
    expect(readdirSync(dir)).toEqual([MASTER_KEY_FILE]);
    // And what was sealed under it opens.
    const sealed = new SecretBox(key).seal('p', Uint8Array.of(1, 2, 3));
    expect(new SecretBox(await fileMasterKey(dir).load()).open('p', sealed)).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('never overwrites an existing key file: the one there wins', () => {
    const dir = dataDir();
    const file = join(dir, MASTER_KEY_FILE);
    const first = createMasterKeyFile(file, { protection: 'none', key: new Uint8Array(32).fill(1) });
    const second = createMasterKeyFile(file, { protection: 'none', key: new Uint8Array(32).fill(2) });
    expect(second.key).toEqual(first.key);
    expect(readMasterKeyFile(file)!.key).toEqual(new Uint8Array(32).fill(1));
  });

  it('clears temporaries a crash left behind, but not one being written now', async () => {
    const dir = dataDir();
    const old = join(dir, `${MASTER_KEY_FILE}.123.abcd.tmp`);
    const fresh = join(dir, `${MASTER_KEY_FILE}.456.ef01.tmp`);
    writeFileSync(old, 'x', { mode: 0o600 });
    writeFileSync(fresh, 'y', { mode: 0o600 });
    utimesSync(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    await fileMasterKey(dir).load();
    expect(readdirSync(dir).sort()).toEqual([MASTER_KEY_FILE, `${MASTER_KEY_FILE}.456.ef01.tmp`]);
  });

  it.runIf(posix)('refuses a key file others may read or write, saying how to fix it', async () => {
    const dir = dataDir();
    await fileMasterKey(dir).load();
    const file = join(dir, MASTER_KEY_FILE);
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602]) {
      chmodSync(file, mode);
      const e = await refusal(fileMasterKey(dir).load());
      expect(e.message).toBe(
        `${file} may be read or changed by others (mode ${mode.toString(8).padStart(4, '0')}); only its owner may have access. Fix it with: chmod 600 '${file}'`,
      );
    }
    chmodSync(file, 0o400);
    expect(await fileMasterKey(dir).load()).toHaveLength(32);
  });

  it.runIf(posix)('refuses a symbolic link in place of the key file', async () => {
    const dir = dataDir();
    const elsewhere = dataDir();
    await fileMasterKey(elsewhere).load();
    symlinkSync(join(elsewhere, MASTER_KEY_FILE), join(dir, MASTER_KEY_FILE));
    expect((await refusal(fileMasterKey(dir).load())).message).toMatch(/is a symbolic link; the master key must be a regular file/);
  });

  it.runIf(posix && asRoot)('refuses a key file or a data folder owned by another user', async () => {
    const dir = dataDir();
    await fileMasterKey(dir).load();
    const file = join(dir, MASTER_KEY_FILE);
    chownSync(file, 65534, 65534);
    expect((await refusal(fileMasterKey(dir).load())).message).toBe(
      `${file} belongs to user id 65534, not to the user Gatehouse runs as (0); only that user may own it (chown it, or run Gatehouse as its owner)`,
    );
    chownSync(file, 0, 0);
    chownSync(dir, 65534, 65534);
    expect((await refusal(fileMasterKey(dir).load())).message).toMatch(/the data folder .* belongs to user id 65534, not to the user Gatehouse runs as \(0\)/);
    // Nor is one created there.
    const empty = dataDir();
    chownSync(empty, 65534, 65534);
    expect((await refusal(fileMasterKey(empty).load())).message).toMatch(/belongs to user id 65534/);
    expect(existsSync(join(empty, MASTER_KEY_FILE))).toBe(false);
  });

  it('on Windows leaves access to the folder ACLs (no mode check)', async () => {
    const dir = dataDir();
    await fileMasterKey(dir).load();
    chmodSync(join(dir, MASTER_KEY_FILE), 0o644);
    expect(await fileMasterKey(dir, { platform: 'win32' }).load()).toHaveLength(32);
  });

  it('refuses a damaged file rather than making a new key (that would lose every sealed secret)', async () => {
    const dir = dataDir();
    const file = join(dir, MASTER_KEY_FILE);
    writeFileSync(file, 'garbage', { mode: 0o600 });
    expect((await refusal(fileMasterKey(dir).load())).message).toMatch(/is not a Gatehouse master key file \(not JSON\)\. Restore it from your backup/);
    writeFileSync(file, JSON.stringify({ format: 'gatehouse-master-key', version: 1, protection: 'none', key: Buffer.alloc(16).toString('base64') }));
    expect((await refusal(fileMasterKey(dir).load())).message).toMatch(/the master key is 16 bytes, not 32; the file is damaged/);
    writeFileSync(file, JSON.stringify({ format: 'gatehouse-master-key', version: 2, protection: 'none', key: '' }));
    expect((await refusal(fileMasterKey(dir).load())).message).toMatch(/not a Gatehouse master key file of a version this Gatehouse knows/);
    expect(readFileSync(file, 'utf8')).toContain('"version":2');
  });

  it("refuses a key the desktop app protected with the OS key store, naming the way out", async () => {
    const dir = dataDir();
    createMasterKeyFile(join(dir, MASTER_KEY_FILE), { protection: 'electron-safe-storage', key: new Uint8Array(64) });
    expect((await refusal(fileMasterKey(dir).load())).message).toMatch(/protected by the desktop app's OS key store .* only the Gatehouse desktop app can open it/);
  });

  it('reports a folder that does not exist', async () => {
    const e = await refusal(fileMasterKey(join(dataDir(), 'missing', 'deeper')).load());
    expect(e.message).toMatch(/ENOENT/);
  });
});

describe('givenMasterKey', () => {
  it('hands over a copy of a key that main unwrapped, and refuses a wrong length', async () => {
    const key = new Uint8Array(32).fill(7);
    const source = givenMasterKey(key, 'the desktop app');
    key.fill(0);
    expect(await source.load()).toEqual(new Uint8Array(32).fill(7));
    expect((await refusal(givenMasterKey(new Uint8Array(3), 'x').load())).message).toMatch(/3 bytes, not 32/);
  });
});

