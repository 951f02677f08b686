// The site's card key at rest: made once, sealed to its site and generation, exported under a
// passphrase and imported back only into the same site.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureSite } from '../host/first-run.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { currentSiteKeyRow } from '../store/repos/site-keys.ts';
import { SecretBox } from './secret-box.ts';
import { exportSiteKey } from './site-key-backup.ts';
import { siteKeyFingerprint, SiteKeys } from './site-keys.ts';

const FAST = { N: 1024, r: 8, p: 1 };
const PASS = 'correct horse battery';
const open: SiteDatabase[] = [];
afterEach(() => {
  for (const d of open.splice(0)) d.close();
});
function site(): SiteDatabase {
  const d = openDatabase(':memory:');
  open.push(d);
  ensureSite(d, { timeZone: 'Europe/Amsterdam', ownerPassword: PASS });
  return d;
}
const box = () => new SecretBox(new Uint8Array(randomBytes(32)));
const siteId = (d: SiteDatabase) => d.read.prepare('SELECT id FROM site').pluck().get() as string;

describe('SiteKeys', () => {
  it('has no key until one is needed, then makes exactly one, sealed', () => {
    const db = site();
    const keys = new SiteKeys(db, box());
    expect(keys.current()).toBeNull();
    const k = keys.currentOrCreate();
    expect(k).toMatchObject({ generation: 1, source: 'generated', site_id: siteId(db) });
    expect(k.key).toHaveLength(16);
    expect(k.fingerprint).toBe(siteKeyFingerprint(k.key));
    expect(keys.currentOrCreate().key).toEqual(k.key);
    const row = currentSiteKeyRow(db.read)!;
    // Sealed: the key's bytes are nowhere in the row.
    expect(Buffer.from(row.sealed_key).includes(Buffer.from(k.key))).toBe(false);
  });

  it('does not open under another master key, and says how to recover', () => {
    const db = site();
    new SiteKeys(db, box()).currentOrCreate();
    expect(() => new SiteKeys(db, box()).current()).toThrow(/cannot be opened with this installation's master key.*gatehouse site-key import/);
  });

  it('exports and imports the key of the same site; a second import of it changes nothing', () => {
    const db = site();
    const original = new SiteKeys(db, box());
    const k = original.currentOrCreate();
    const { text, fingerprint } = original.export(PASS, FAST);
    expect(fingerprint).toBe(k.fingerprint);

    // The same database on another computer: its master key is gone, so the key is imported.
    const moved = new SiteKeys(db, box());
    const first = db.transaction((w) => moved.import(w, text, PASS));
    expect(first.changed).toBe(true);
    expect(first.key).toMatchObject({ generation: 2, source: 'imported', fingerprint: k.fingerprint });
    expect(first.key.key).toEqual(k.key);
    expect(moved.current()!.key).toEqual(k.key);
    expect(db.transaction((w) => moved.import(w, text, PASS)).changed).toBe(false);
  });

  it("refuses another site's key and a wrong passphrase, writing nothing", () => {
    const db = site();
    const keys = new SiteKeys(db, box());
    const mine = keys.currentOrCreate();
    const foreign = exportSiteKey(new Uint8Array(randomBytes(16)), '00000000-0000-4000-8000-000000000000', PASS, FAST);
    expect(() => db.transaction((w) => keys.import(w, foreign, PASS))).toThrow(/belongs to the site with id 00000000-.*not this one/);
    const own = keys.export(PASS, FAST).text;
    expect(() => db.transaction((w) => keys.import(w, own, 'not the passphrase'))).toThrow(/passphrase/i);
    expect(keys.current()).toMatchObject({ generation: 1, fingerprint: mine.fingerprint });
  });
});
