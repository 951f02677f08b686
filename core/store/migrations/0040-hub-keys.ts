// Per-hub secure-channel keys (OSDP SCBK), by hub MAC, sealed under the installation's master key
// (core/secrets). A hub has at most one active key and at most one pending key: one given to it with
// KEYSET but not yet proven by a handshake. The pending row is committed before the KEYSET goes out, so
// a host killed in between still knows the key the hub may have taken (docs/iq-protocol.md, Keys).
import type { Migration } from './index.ts';

export const migration0040: Migration = {
  version: 40,
  name: 'hub-keys',
  up(db) {
    db.exec(`
      CREATE TABLE hub_keys (
        mac TEXT NOT NULL CHECK (mac GLOB '[0-9A-F][0-9A-F]-[0-9A-F][0-9A-F]-[0-9A-F][0-9A-F]-[0-9A-F][0-9A-F]-[0-9A-F][0-9A-F]-[0-9A-F][0-9A-F]'),
        state TEXT NOT NULL CHECK (state IN ('pending', 'active')),
        sealed_key BLOB NOT NULL CHECK (length(sealed_key) > 0),
        created_at TEXT NOT NULL,
        confirmed_at TEXT,
        CHECK ((state = 'active') = (confirmed_at IS NOT NULL)),
        PRIMARY KEY (mac, state)
      ) STRICT, WITHOUT ROWID;
    `);
  },
};
