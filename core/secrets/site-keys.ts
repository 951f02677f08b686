// The site's card key (docs/credentials.md): the key every card credential is made under and every hub
// checks cards with. Sealed under the installation's master key (secret-box.ts) in site_keys; created
// the first time it is needed; exported and imported as passphrase-protected text (site-key-backup.ts).
import { createHash, randomBytes } from 'node:crypto';
import { GatehouseError } from '../contract/errors.ts';
import type { SiteDatabase, WriteDb } from '../store/db.ts';
import { currentSiteKeyRow, insertSiteKey, siteKeyRow, type SiteKeyRow, type SiteKeySource } from '../store/repos/site-keys.ts';
import { getSite } from '../store/repos/site.ts';
import { exportSiteKey, importSiteKey, SITE_KEY_LENGTH, type ScryptParams } from './site-key-backup.ts';
import { SecretError, type SecretBox } from './secret-box.ts';

export interface SiteKey {
  generation: number;
  key: Uint8Array;
  fingerprint: string;
  source: SiteKeySource;
  created_at: string;
  /** The site the credentials name (their block 4 is this id's fingerprint). */
  site_id: string;
}

/** A sealed site key is bound to its site and generation: a row copied elsewhere does not open. */
const purpose = (siteId: string, generation: number) => `site-card-key:${siteId}:${generation}`;

/** 16 hex digits an admin can compare between a backup, the settings screen and a hub's status. */
export function siteKeyFingerprint(key: Uint8Array): string {
  return createHash('sha256').update('gatehouse/site-key/').update(key).digest().subarray(0, 8).toString('hex');
}

/** The site keys of a service's database, or `unavailable` when the composition root gave it no master key. */
export function siteKeysOf(service: { db: SiteDatabase; secrets: SecretBox | null; now: () => number }): SiteKeys {
  if (!service.secrets) throw new GatehouseError('unavailable', 'This Gatehouse has no master key, so it cannot hold the site key cards are made with');
  return new SiteKeys(service.db, service.secrets, service.now);
}

export class SiteKeys {
  constructor(
    private readonly db: SiteDatabase,
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {}

  #siteId(): string {
    const site = getSite(this.db.read);
    if (!site) throw new GatehouseError('unavailable', 'This installation has no site yet');
    return site.id;
  }

  #open(row: SiteKeyRow, siteId: string): SiteKey {
    let key: Uint8Array;
    try {
      key = this.box.open(purpose(siteId, row.generation), row.sealed_key);
    } catch (e) {
      if (!(e instanceof SecretError)) throw e;
      // Most often a database restored on another computer: its master key is not this one.
      throw new GatehouseError(
        'unavailable',
        `The site's card key (generation ${row.generation}, fingerprint ${row.fingerprint}) cannot be opened with this installation's master key (${e.message}). Import the key from its backup (gatehouse site-key import).`,
      );
    }
    return { generation: row.generation, key, fingerprint: row.fingerprint, source: row.source, created_at: row.created_at, site_id: siteId };
  }

  /** The current key, or null when none was made yet. */
  current(): SiteKey | null {
    const row = currentSiteKeyRow(this.db.read);
    return row ? this.#open(row, this.#siteId()) : null;
  }

  /** The current key, made (and committed) now if the site has none. */
  currentOrCreate(): SiteKey {
    const existing = this.current();
    if (existing) return existing;
    const siteId = this.#siteId();
    const key = new Uint8Array(randomBytes(SITE_KEY_LENGTH));
    this.db.transaction((w) => {
      // Another caller may have made one since we looked; the first one stays.
      if (currentSiteKeyRow(w)) return;
      this.#insert(w, key, siteId, 'generated');
    });
    return this.current()!;
  }

  #insert(w: WriteDb, key: Uint8Array, siteId: string, source: SiteKeySource): number {
    const generation = (currentSiteKeyRow(w)?.generation ?? 0) + 1;
    const at = new Date(this.now()).toISOString();
    const inserted = insertSiteKey(w, { sealed_key: this.box.seal(purpose(siteId, generation), key), fingerprint: siteKeyFingerprint(key), source, created_at: at });
    if (inserted !== generation) throw new Error(`site key generation ${inserted}, expected ${generation}`);
    return generation;
  }

  /** The current key as backup text under a passphrase (making the key first if there is none). */
  export(passphrase: string, scrypt?: ScryptParams): { text: string; fingerprint: string } {
    const k = this.currentOrCreate();
    return { text: exportSiteKey(k.key, k.site_id, passphrase, scrypt), fingerprint: k.fingerprint };
  }

  /**
   * Makes a backed-up key the current one, in `w`'s transaction. Refused when it belongs to another
   * site (its cards name that site); importing the key that is already current changes nothing.
   * Throws SiteKeyError (site-key-backup.ts) for a bad text or passphrase.
   */
  import(w: WriteDb, text: string, passphrase: string): { key: SiteKey; changed: boolean } {
    const siteId = this.#siteId();
    const imported = importSiteKey(text, passphrase);
    if (imported.siteId !== siteId) {
      throw new GatehouseError(
        'conflict',
        `This key belongs to the site with id ${imported.siteId}, not this one (${siteId}); its cards would not open here. Restore that site's database backup first, then import its key.`,
        [{ path: 'text', message: 'key of another site' }],
      );
    }
    const fingerprint = siteKeyFingerprint(imported.siteKey);
    const current = currentSiteKeyRow(w);
    if (current?.fingerprint === fingerprint) {
      try {
        return { key: this.#open(current, siteId), changed: false };
      } catch (e) {
        // The same key sealed under another installation's master key: seal it again under ours.
        if (!(e instanceof GatehouseError)) throw e;
      }
    }
    const generation = this.#insert(w, imported.siteKey, siteId, 'imported');
    return { key: this.#open(siteKeyRow(w, generation)!, siteId), changed: true };
  }
}
