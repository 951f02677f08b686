// Each hub's own secure-channel key (OSDP SCBK, 16 bytes), sealed at rest (secret-box.ts) in hub_keys
// (core/store/repos/hub-keys.ts). The composition root drives the handshake and KEYSET; this module keeps
// the order that makes commissioning survive a kill at any moment (docs/iq-protocol.md, Keys):
//
//   1. createPending: a fresh random key, sealed and committed as the hub's pending key;
//   2. only then KEYSET to the hub (the composition root);
//   3. confirm: once a handshake with it succeeded, the key becomes the hub's only active key.
//
// A host killed between 1 and 3 finds the pending key on the next connect: the hub either took it (a
// handshake with it succeeds: confirm it) or did not (it is still in install mode: start again).
import { randomBytes } from 'node:crypto';
import { normalizeMac } from '../domain/mac.ts';
import type { SiteDatabase } from '../store/db.ts';
import { activatePendingHubKey, deletePendingHubKey, hubKeyRows, putPendingHubKey, type HubKeyState } from '../store/repos/hub-keys.ts';
import { SecretError, type SecretBox } from './secret-box.ts';

export const HUB_KEY_LENGTH = 16;

export interface HubKey {
  state: HubKeyState;
  /** The SCBK itself. */
  key: Uint8Array;
}

/** What a sealed hub key is bound to: a row moved to another hub does not open. */
export const hubKeyPurpose = (mac: string) => `hub-scbk:${normalizeMac(mac)}`;

export class HubKeyRing {
  constructor(
    private readonly db: SiteDatabase,
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {}

  /** The hub's keys, the active one first. Throws SecretError (naming the hub) when one does not open. */
  keys(mac: string): HubKey[] {
    return hubKeyRows(this.db.read, mac).map((row) => {
      try {
        return { state: row.state, key: this.box.open(hubKeyPurpose(mac), row.sealed_key) };
      } catch (e) {
        if (!(e instanceof SecretError)) throw e;
        throw new SecretError(e.code, `the ${row.state} key of hub ${normalizeMac(mac)} cannot be opened: ${e.message}`);
      }
    });
  }

  /** Whether any key (active or pending) is stored for the hub, without opening it. */
  has(mac: string): boolean {
    return hubKeyRows(this.db.read, mac).length > 0;
  }

  /**
   * A new random key for the hub, sealed and committed as its pending key (replacing a pending key it
   * never took) before it is returned: only then may it be sent to the hub.
   */
  createPending(mac: string): Uint8Array {
    const key = new Uint8Array(randomBytes(HUB_KEY_LENGTH));
    const sealed = this.box.seal(hubKeyPurpose(mac), key);
    this.db.transaction((w) => putPendingHubKey(w, mac, sealed, this.#at()));
    return key;
  }

  /**
   * A handshake with `key` succeeded: it becomes the hub's only active key. 'activated' when it was the
   * pending key, 'active' when it was already the active one (a stale pending key is dropped then).
   */
  confirm(mac: string, key: Uint8Array): 'activated' | 'active' {
    const purpose = hubKeyPurpose(mac);
    return this.db.transaction((w) => {
      const rows = hubKeyRows(w, mac);
      const match = rows.find((r) => sameBytes(this.box.open(purpose, r.sealed_key), key));
      if (!match) throw new Error(`hub ${normalizeMac(mac)}: the key to confirm is not one stored for it`);
      if (match.state === 'active') {
        // A pending key beside the active one never reached the hub: the hub proves it holds the active one.
        deletePendingHubKey(w, mac);
        return 'active';
      }
      activatePendingHubKey(w, mac, match.sealed_key, this.#at());
      return 'activated';
    });
  }

  #at(): string {
    return new Date(this.now()).toISOString();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
