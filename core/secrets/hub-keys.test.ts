// Hub keys at rest: pending before KEYSET, active once a handshake proved it, sealed per hub.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { hubKeyRows, hubKeyStates } from '../store/repos/hub-keys.ts';
import { HubKeyRing } from './hub-keys.ts';
import { SecretBox, SecretError } from './secret-box.ts';

const MAC = '00-14-22-01-23-45';
const OTHER = '00-14-22-01-23-46';
const open: SiteDatabase[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function db(file = ':memory:'): SiteDatabase {
  const d = openDatabase(file);
  open.push(d);
  return d;
}
const master = () => new Uint8Array(randomBytes(32));
let clock = Date.parse('2026-05-01T10:00:00Z');
const now = () => (clock += 1000);

describe('HubKeyRing', () => {
  it('commissions a hub: pending (sealed, committed) first, active once confirmed', () => {
    const ring = new HubKeyRing(db(), new SecretBox(master()), now);
    expect(ring.has(MAC)).toBe(false);
    expect(ring.keys(MAC)).toEqual([]);
    const key = ring.createPending(MAC);
    expect(key).toHaveLength(16);
    expect(ring.keys(MAC)).toEqual([{ state: 'pending', key }]);
    expect(ring.confirm(MAC, key)).toBe('activated');
    expect(ring.keys(MAC)).toEqual([{ state: 'active', key }]);
    expect(ring.keys(MAC.toLowerCase().replace(/-/g, ':'))).toEqual([{ state: 'active', key }]);
    expect(ring.confirm(MAC, key)).toBe('active');
  });

  it('keeps the key sealed in the database, bound to its hub', () => {
    const d = db();
    const ring = new HubKeyRing(d, new SecretBox(master()), now);
    const key = ring.createPending(MAC);
    const [row] = hubKeyRows(d.read, MAC);
    expect(row).toMatchObject({ mac: MAC, state: 'pending', confirmed_at: null });
    expect(Buffer.from(row!.sealed_key).includes(Buffer.from(key))).toBe(false);
    // The sealed bytes copied into another hub's row do not open there.
    d.transaction((w) => w.prepare(`INSERT INTO hub_keys VALUES (?, 'pending', ?, 'x', NULL)`).run(OTHER, Buffer.from(row!.sealed_key)));
    let error: unknown;
    try {
      ring.keys(OTHER);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SecretError);
    expect((error as SecretError).message).toMatch(/^the pending key of hub 00-14-22-01-23-46 cannot be opened: .*does not authenticate/);
  });

  it('re-commissioning keeps the active key until the new one is proven, then only the new one', () => {
    const d = db();
    const ring = new HubKeyRing(d, new SecretBox(master()), now);
    const first = ring.createPending(MAC);
    ring.confirm(MAC, first);
    const second = ring.createPending(MAC);
    expect(ring.keys(MAC)).toEqual([
      { state: 'active', key: first },
      { state: 'pending', key: second },
    ]);
    // A pending key the hub never took is replaced by the next attempt.
    const third = ring.createPending(MAC);
    expect(ring.keys(MAC).map((k) => k.key)).toEqual([first, third]);
    expect(ring.confirm(MAC, third)).toBe('activated');
    expect(ring.keys(MAC)).toEqual([{ state: 'active', key: third }]);
    expect(hubKeyStates(d.read)).toEqual([{ mac: MAC, state: 'active', created_at: expect.any(String), confirmed_at: expect.any(String) }]);
  });

  it('drops a stale pending key when the hub proves it still holds the active one', () => {
    const ring = new HubKeyRing(db(), new SecretBox(master()), now);
    const active = ring.createPending(MAC);
    ring.confirm(MAC, active);
    ring.createPending(MAC);
    expect(ring.confirm(MAC, active)).toBe('active');
    expect(ring.keys(MAC)).toEqual([{ state: 'active', key: active }]);
  });

  it('refuses to confirm a key that is not stored for the hub', () => {
    const ring = new HubKeyRing(db(), new SecretBox(master()), now);
    ring.createPending(MAC);
    expect(() => ring.confirm(MAC, new Uint8Array(16))).toThrow(/hub 00-14-22-01-23-45: the key to confirm is not one stored for it/);
    expect(ring.keys(MAC).map((k) => k.state)).toEqual(['pending']);
  });

  it('a pending key is on disk when createPending returns: a new process (a restart after a kill) finds it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-hub-keys-'));
    dirs.push(dir);
    const file = join(dir, 'gatehouse.db');
    const masterKey = master();
    const first = openDatabase(file);
    const key = new HubKeyRing(first, new SecretBox(masterKey)).createPending(MAC);
    // No close: as if the process had been killed here.
    const again = db(file);
    expect(new HubKeyRing(again, new SecretBox(masterKey)).keys(MAC)).toEqual([{ state: 'pending', key }]);
    first.close();
    // Under another master key the keys do not open, and say why.
    expect(() => new HubKeyRing(again, new SecretBox(master())).keys(MAC)).toThrow(/sealed under another master key/);
  });
});
