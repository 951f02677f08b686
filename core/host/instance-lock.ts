// One process per data directory: the database has one writer, and `restore` must not swap the file
// under a running server. The lock is a pid file created exclusively; a stale one (its process is
// gone) is taken over.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE } from './data-dir.ts';

export class InstanceLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`Another Gatehouse (pid ${pid}) is using ${dataDir}; stop it first`);
    this.name = 'InstanceLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireInstanceLock(dataDir: string): () => void {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid && pid !== process.pid && alive(pid)) throw new InstanceLockedError(dataDir, pid);
      unlinkSync(file);
    }
  }
  throw new Error(`Could not lock ${dataDir}`);
}

/** Throws InstanceLockedError when a live process holds the data directory. */
export function assertNotRunning(dataDir: string): void {
  try {
    const pid = Number(readFileSync(join(dataDir, LOCK_FILE), 'utf8'));
    if (pid && alive(pid)) throw new InstanceLockedError(dataDir, pid);
  } catch (e) {
    if (e instanceof InstanceLockedError) throw e;
  }
}
