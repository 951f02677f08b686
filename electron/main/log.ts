// Main's log file: <userData>/logs/gatehouse.log, one line per message with a UTC timestamp. When the
// file would grow past maxBytes it is rotated (gatehouse.log → gatehouse.1.log → … → gatehouse.<keep>.log,
// the oldest dropped). Writes are synchronous: a handful of lines a minute, and nothing is lost on a crash.
import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type Level = 'info' | 'warn' | 'error';
export type Logger = Record<Level, (message: string) => void> & { readonly file: string };

export const LOG_FILE = 'gatehouse.log';
export const MAX_LOG_BYTES = 5 * 1024 * 1024;

export interface LogOptions {
  maxBytes?: number;
  /** Rotated files kept next to the live one. */
  keep?: number;
  now?: () => Date;
  /** Also written here (the console in development). */
  echo?: (line: string) => void;
}

export function logFileIn(userData: string): string {
  return join(userData, 'logs', LOG_FILE);
}

export function createLogger(file: string, o: LogOptions = {}): Logger {
  const maxBytes = o.maxBytes ?? MAX_LOG_BYTES;
  const keep = o.keep ?? 3;
  const now = o.now ?? (() => new Date());
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let size = Math.max(0, sizeOf(file));

  const rotate = () => {
    const rotated = (n: number) => file.replace(/\.log$/, '') + `.${n}.log`;
    rmSync(rotated(keep), { force: true });
    for (let n = keep - 1; n >= 1; n--) {
      if (sizeOf(rotated(n)) >= 0) renameSync(rotated(n), rotated(n + 1));
    }
    renameSync(file, rotated(1));
    size = 0;
  };

  const write = (level: Level, message: string) => {
    const line = `${now().toISOString()} [${level}] ${message.replace(/\r?\n/g, '\n    ')}\n`;
    o.echo?.(line.trimEnd());
    const bytes = Buffer.byteLength(line);
    try {
      if (size > 0 && size + bytes > maxBytes) rotate();
      appendFileSync(file, line, { mode: 0o600 });
      size += bytes;
    } catch {
      // A full disk or a removed folder must not take the app down with it.
    }
  };
  return { file, info: (m) => write('info', m), warn: (m) => write('warn', m), error: (m) => write('error', m) };
}

/** -1 when the file does not exist. */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}
