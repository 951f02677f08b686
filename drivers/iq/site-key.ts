// The fingerprint of a site card key (docs/credentials.md): what a hub reports in SITE_KEY_STATE instead
// of the key, what the host compares to decide whether a hub needs the key, and the 16 hex digits an
// admin compares between a backup and a hub. Computed exactly as core/secrets/site-keys.ts does (drivers
// may not import core/; bin/hubs.test.ts checks that the two agree).
import { createHash } from 'node:crypto';
import { SITE_KEY_BYTES, SITE_KEY_FINGERPRINT_BYTES } from './codes.ts';

/** The first 8 bytes of SHA-256("gatehouse/site-key/" ‖ key). */
export function siteKeyFingerprint(key: Uint8Array): Uint8Array {
  if (key.length !== SITE_KEY_BYTES) throw new RangeError(`a site key is ${SITE_KEY_BYTES} bytes, not ${key.length}`);
  return new Uint8Array(createHash('sha256').update('gatehouse/site-key/').update(key).digest().subarray(0, SITE_KEY_FINGERPRINT_BYTES));
}
