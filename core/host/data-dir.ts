// Where an installation keeps its database when no --data is given: the per-user data directory of
// the platform (GATEHOUSE_DATA_DIR overrides it).
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.GATEHOUSE_DATA_DIR) return env.GATEHOUSE_DATA_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Gatehouse');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Gatehouse');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'gatehouse');
}

export const DATABASE_FILE = 'gatehouse.db';
export const LOCK_FILE = 'gatehouse.pid';
