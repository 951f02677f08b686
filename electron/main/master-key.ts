// The desktop app's master key (docs/architecture.md, Secrets at rest), on main's side: safeStorage —
// the OS key store (Keychain, DPAPI, libsecret/KWallet) — exists only in Electron's main process, so main
// unwraps `<data>/master.key` and hands the key to the core's utility process (MasterKeyMessage), which
// seals the hub keys under it (core-hubs.ts). The file is the one `gatehouse serve` uses
// (core/secrets/master-key.ts), with protection "electron-safe-storage": its key is a safeStorage blob.
//
// - First start: 32 random bytes, wrapped with safeStorage, written once (mode 0600, atomically).
// - No usable key store (Linux without a secret service: safeStorage would fall back to a hard-coded
//   password, "basic_text"): the key is written unwrapped, as `gatehouse serve` does, and the log says so.
// - A file `gatehouse serve` created (protection "none") is used as it is and left so, or serve could no
//   longer open the installation it shares the folder with.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createMasterKeyFile, MASTER_KEY_FILE, MasterKeyError, readMasterKeyFile, type KeyFileOptions, type StoredMasterKey } from '../../core/secrets/master-key.ts';
import { MASTER_KEY_LENGTH } from '../../core/secrets/secret-box.ts';

/** What main needs of Electron's safeStorage (a fake in the tests). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only. */
  getSelectedStorageBackend?(): string;
}

export interface DesktopMasterKeyOptions extends KeyFileOptions {
  safeStorage: SafeStorageLike;
  dataDir: string;
  log: { info(m: string): void; warn(m: string): void };
}

/** main → core: the unwrapped master key, base64. Sent once, right after the core process is forked. */
export interface MasterKeyMessage {
  type: 'master-key';
  key: string;
}

export const masterKeyMessage = (key: Uint8Array): MasterKeyMessage => ({ type: 'master-key', key: Buffer.from(key).toString('base64') });

/** The key in a MasterKeyMessage, or null when the message is not one (or carries no 32-byte key). */
export function masterKeyFrom(message: unknown): Uint8Array | null {
  const m = message as Partial<MasterKeyMessage> | null;
  if (!m || typeof m !== 'object' || m.type !== 'master-key' || typeof m.key !== 'string') return null;
  const key = new Uint8Array(Buffer.from(m.key, 'base64'));
  return key.length === MASTER_KEY_LENGTH ? key : null;
}

/** Whether safeStorage protects anything here: available, and on Linux not the hard-coded-password fallback. */
export function keyStoreUsable(safeStorage: SafeStorageLike, platform: NodeJS.Platform = process.platform): boolean {
  if (!safeStorage.isEncryptionAvailable()) return false;
  return platform !== 'linux' || safeStorage.getSelectedStorageBackend?.() !== 'basic_text';
}

/**
 * The installation's master key, from `<dataDir>/master.key` (created on first use). Call after the app is
 * ready (safeStorage needs it on Linux and Windows). Throws MasterKeyError with what to do.
 */
export function loadDesktopMasterKey(o: DesktopMasterKeyOptions): Uint8Array {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const file = join(o.dataDir, MASTER_KEY_FILE);
  const usable = keyStoreUsable(o.safeStorage, o.platform);
  let stored = readMasterKeyFile(file, o);
  const created = !stored;
  if (!stored) {
    const key = randomBytes(MASTER_KEY_LENGTH);
    const fresh: StoredMasterKey = usable
      ? { protection: 'electron-safe-storage', key: new Uint8Array(o.safeStorage.encryptString(key.toString('base64'))) }
      : { protection: 'none', key: new Uint8Array(key) };
    stored = createMasterKeyFile(file, fresh, o);
    if (stored.protection === 'electron-safe-storage') o.log.info(`created the master key ${file}, protected by the OS key store`);
    else o.log.warn(`created the master key ${file} without the OS key store (none is available here): only its file permissions protect it`);
  }
  if (stored.protection === 'none') {
    if (!created) o.log.info(`the master key ${file} is not protected by the OS key store (gatehouse serve made it, or no key store was available): it is used as it is`);
    if (stored.key.length !== MASTER_KEY_LENGTH) throw new MasterKeyError(`${file}: the master key is ${stored.key.length} bytes, not ${MASTER_KEY_LENGTH}; the file is damaged`);
    return stored.key;
  }
  if (!o.safeStorage.isEncryptionAvailable()) {
    throw new MasterKeyError(`${file} is protected by the OS key store, which is not available now; unlock your keyring (or log in to the desktop session) and start Gatehouse again`);
  }
  let text: string;
  try {
    text = o.safeStorage.decryptString(Buffer.from(stored.key));
  } catch (e) {
    throw new MasterKeyError(
      `${file} cannot be unwrapped by this user's OS key store (${(e as Error).message}): it was made by another user or on another computer. ` +
        'Restore the data folder on the computer it came from, or re-commission the hubs.',
    );
  }
  const key = new Uint8Array(Buffer.from(text, 'base64'));
  if (key.length !== MASTER_KEY_LENGTH) throw new MasterKeyError(`${file}: the unwrapped master key is ${key.length} bytes, not ${MASTER_KEY_LENGTH}; the file is damaged`);
  return key;
}
