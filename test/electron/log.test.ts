// Main's log file (electron/main/log.ts): lines with timestamps, rotation at the size limit.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_LOG_BYTES, createLogger, logFileIn } from '../../electron/main/log.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function temp() {
  const d = mkdtempSync(join(tmpdir(), 'gh-log-'));
  dirs.push(d);
  return d;
}

describe('the log file', () => {
  it('lives in <userData>/logs/gatehouse.log and rotates at 5 MB', () => {
    expect(logFileIn('/u')).toBe(join('/u', 'logs', 'gatehouse.log'));
    expect(MAX_LOG_BYTES).toBe(5 * 1024 * 1024);
  });

  it('writes one timestamped line per message, indenting continuation lines', () => {
    const file = logFileIn(temp());
    const log = createLogger(file, { now: () => new Date('2026-03-02T09:00:00Z') });
    log.info('started');
    log.error('failed:\nstack line');
    expect(readFileSync(file, 'utf8')).toBe('2026-03-02T09:00:00.000Z [info] started\n2026-03-02T09:00:00.000Z [error] failed:\n    stack line\n');
  });

  it('rotates before the file would pass the limit, keeping a few old files', () => {
    const dir = temp();
    const file = join(dir, 'gatehouse.log');
    const log = createLogger(file, { maxBytes: 1000, keep: 2 });
    for (let i = 0; i < 100; i++) log.info(`message ${i} ${'x'.repeat(40)}`);
    expect(statSync(file).size).toBeLessThanOrEqual(1000);
    expect(existsSync(join(dir, 'gatehouse.1.log'))).toBe(true);
    expect(existsSync(join(dir, 'gatehouse.2.log'))).toBe(true);
    expect(existsSync(join(dir, 'gatehouse.3.log'))).toBe(false);
    expect(readFileSync(file, 'utf8')).toContain('message 99');
    expect(readFileSync(join(dir, 'gatehouse.1.log'), 'utf8')).not.toContain('message 99');
  });

  it('continues an existing file and counts its size', () => {
    const dir = temp();
    const file = join(dir, 'gatehouse.log');
    createLogger(file, { maxBytes: 200 }).info('x'.repeat(150));
    createLogger(file, { maxBytes: 200 }).info('y'.repeat(150));
    expect(readFileSync(file, 'utf8')).toContain('y'.repeat(150));
    expect(readFileSync(join(dir, 'gatehouse.1.log'), 'utf8')).toContain('x'.repeat(150));
  });
});
