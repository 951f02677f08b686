// `gatehouse site-key export|import` as an admin moving a site to another computer runs them: the key
// written once, 0600, under a passphrase from a file or the environment; the database restored on the
// new computer (another master key) cannot open its card key until the export is imported; a wrong
// passphrase or another site's key is refused with exit code 1 and changes nothing.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileMasterKey } from '../../core/secrets/master-key.ts';
import { SecretBox } from '../../core/secrets/secret-box.ts';
import { SiteKeys } from '../../core/secrets/site-keys.ts';
import { openDatabase } from '../../core/store/db.ts';

const BIN = join(process.cwd(), 'bin', 'gatehouse.mjs');
const root = mkdtempSync(join(tmpdir(), 'gh-sitekey-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function gatehouse(dataDir: string, env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--data', dataDir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GATEHOUSE_OWNER_PASSWORD: 'correct horse battery', ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function cardKey(dataDir: string): Promise<string | null> {
  const box = new SecretBox(await fileMasterKey(dataDir).load());
  const db = openDatabase(join(dataDir, 'gatehouse.db'));
  try {
    const k = new SiteKeys(db, box).current();
    return k ? Buffer.from(k.key).toString('hex') : null;
  } finally {
    db.close();
  }
}

describe('gatehouse site-key', () => {
  it('exports the card key and imports it into the same site restored on another computer', async () => {
    const old = join(root, 'old');
    const PASS = { GATEHOUSE_SITE_KEY_PASSPHRASE: 'purple elephant dancing' };
    const file = join(root, 'card-key.txt');
    const exported = gatehouse(old, PASS, 'site-key', 'export', file);
    expect(exported.code, exported.err).toBe(0);
    expect(exported.out).toMatch(/Card key \(fingerprint [0-9a-f]{16}\) written to/);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN GATEHOUSE SITE KEY-----/);
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = await cardKey(old);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    // Never over an earlier backup.
    expect(gatehouse(old, PASS, 'site-key', 'export', file)).toMatchObject({ code: 1, err: expect.stringMatching(/EEXIST|exists/) });

    // The database alone on a new computer: a new master key, so the sealed card key does not open.
    const moved = join(root, 'new');
    mkdirSync(moved);
    copyFileSync(join(old, 'gatehouse.db'), join(moved, 'gatehouse.db'));
    await expect(cardKey(moved)).rejects.toThrow(/cannot be opened with this installation's master key/);

    const wrong = gatehouse(moved, { GATEHOUSE_SITE_KEY_PASSPHRASE: 'not the passphrase' }, 'site-key', 'import', file);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/passphrase/i);
    await expect(cardKey(moved)).rejects.toThrow();

    const passFile = join(root, 'pass.txt');
    writeFileSync(passFile, 'purple elephant dancing\n');
    const imported = gatehouse(moved, {}, 'site-key', 'import', file, '--passphrase-file', passFile);
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out).toMatch(/is current \(generation 2, imported\)/);
    expect(await cardKey(moved)).toBe(key);
  });

  it("refuses another site's key and a missing passphrase, writing nothing", () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    const file = join(root, 'a-key.txt');
    const env = { GATEHOUSE_SITE_KEY_PASSPHRASE: 'purple elephant dancing' };
    expect(gatehouse(a, env, 'site-key', 'export', file).code).toBe(0);
    const other = gatehouse(b, env, 'site-key', 'import', file);
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/belongs to the site with id .*not this one/);
    const none = gatehouse(b, { GATEHOUSE_SITE_KEY_PASSPHRASE: '' }, 'site-key', 'export', join(root, 'b-key.txt'));
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/--passphrase-file.*GATEHOUSE_SITE_KEY_PASSPHRASE/);
    expect(existsSync(join(root, 'b-key.txt'))).toBe(false);
  });
});
