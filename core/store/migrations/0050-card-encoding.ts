// The site's card key and the encoder's work log.
//
// site_keys: the key card credentials are made under (docs/credentials.md), sealed under the
// installation's master key (core/secrets). One row per generation; the newest is current. A site gets
// its first key the first time one is needed; an import (a backup of another installation's key) adds
// a generation rather than overwriting, so nothing that opened yesterday is destroyed by a typo.
//
// card_encodings: one row per attempt to write a credential, committed as 'writing' before the first
// block goes to the card. A host killed while the card was on the encoder, or a card pulled off
// half-way, leaves the row saying which tag number and issue counter the card may now hold, so
// presenting the card again repairs it with exactly those, and no other card is given that number.
import type { Migration } from './index.ts';

export const migration0050: Migration = {
  version: 50,
  name: 'card-encoding',
  up(db) {
    db.exec(`
      CREATE TABLE site_keys (
        generation INTEGER PRIMARY KEY CHECK (generation >= 1),
        sealed_key BLOB NOT NULL CHECK (length(sealed_key) > 0),
        fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 16 AND fingerprint NOT GLOB '*[^0-9a-f]*'),
        source TEXT NOT NULL CHECK (source IN ('generated', 'imported')),
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE card_encodings (
        id TEXT PRIMARY KEY,
        card_uid TEXT NOT NULL CHECK (length(card_uid) IN (8, 14, 20) AND card_uid NOT GLOB '*[^0-9A-F]*'),
        tag_number TEXT NOT NULL CHECK (length(tag_number) = 10 AND tag_number NOT GLOB '*[^0-9]*'),
        issue_counter INTEGER NOT NULL CHECK (issue_counter >= 1),
        -- The tag re-issued onto this card; null: a new tag is created once the card verifies.
        tag_id TEXT,
        user_id TEXT,
        site_key_generation INTEGER NOT NULL REFERENCES site_keys(generation),
        encoder TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('writing', 'verified', 'failed', 'abandoned')),
        failure TEXT,
        operator TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        CHECK ((state = 'writing') = (finished_at IS NULL)),
        CHECK ((state = 'failed') = (failure IS NOT NULL))
      ) STRICT;
      CREATE INDEX card_encodings_uid ON card_encodings(card_uid, started_at);
      -- A tag number a card may hold until its encoding is finished or abandoned: never given to another card.
      CREATE UNIQUE INDEX card_encodings_reserved ON card_encodings(tag_number) WHERE state IN ('writing', 'failed');
    `);
  },
};
