// The cloud account a site is connected with (docs/cloud-sync.md, "Connecting"). One row: where the
// cloud is, which client and account, and the secrets sealed under the installation's master key
// (the OAuth tokens, the client secret, the IQ secret and PIN the one-time codes are made from).
// Nothing here is readable without master.key, so a copied database or backup holds no usable token.
// Also: the users the cloud created as `suspended` (no free seat), flagged until an admin acts.
import type { Migration } from './index.ts';

export const migration0061: Migration = {
  version: 61,
  name: 'cloud-account',
  up(db) {
    db.exec(`
      CREATE TABLE cloud_account (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        api_url TEXT NOT NULL,
        identity_url TEXT NOT NULL,
        client_id TEXT NOT NULL,
        -- Who signed in (the password grant's user name, or the account the browser sign-in named).
        account TEXT,
        sealed_client_secret BLOB,
        sealed_tokens BLOB,
        sealed_otp BLOB,
        connected_at TEXT NOT NULL,
        connected_by TEXT NOT NULL
      ) STRICT;
      ALTER TABLE cloud_links ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1));
    `);
  },
};
