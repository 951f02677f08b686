// The core's utility-process entry (electron/main/core-process.ts) as a real process: it opens the data
// folder, creates the site and the owner on first start, answers calls over its parent port, holds the
// instance lock, and closes the database on shutdown. Electron's parentPort is stood in for by Node's
// IPC channel (core-process-child.ts); the message protocol is the same.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CoreToMain, MainToCore, ReadyMessage, ReplyMessage } from '../../electron/main/core-protocol.ts';

const CHILD = fileURLToPath(new URL('./core-process-child.ts', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'gh-core-process-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function start(env: Record<string, string> = {}) {
  const { GATEHOUSE_OWNER_PASSWORD: _ignored, ...inherited } = process.env;
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], env: { ...inherited, GATEHOUSE_DATA_DIR: dataDir, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  children.push(child);
  const messages: CoreToMain[] = [];
  const waiters: Array<() => void> = [];
  child.on('message', (m: CoreToMain) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const next = <T extends CoreToMain>(match: (m: CoreToMain) => m is T): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message; got ${JSON.stringify(messages)}`)), 20_000);
      const check = () => {
        const found = messages.find(match);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else waiters.push(check);
      };
      check();
    });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let id = 0;
  const call = async (name: string, input: unknown, token: string | null) => {
    const callId = ++id;
    child.send({ type: 'call', id: callId, name, input, token } satisfies MainToCore);
    return next((m): m is ReplyMessage => m.type === 'reply' && m.id === callId);
  };
  return { child, messages, next, exited, call, send: (m: MainToCore) => child.send(m) };
}

const isReady = (m: CoreToMain): m is ReadyMessage => m.type === 'ready';

describe('the core process', () => {
  it('creates the site on first start, shows the generated owner password once, and answers calls', async () => {
    const core = start();
    const ready = await core.next(isReady);
    expect(ready).toMatchObject({ type: 'ready', dataDir, created: true });
    expect(ready.generatedPassword).toMatch(/^\S{12,}$/);
    expect(existsSync(join(dataDir, 'gatehouse.db'))).toBe(true);
    expect(existsSync(join(dataDir, 'gatehouse.pid'))).toBe(true);

    const login = await core.call('auth.login', { username: 'owner', password: ready.generatedPassword }, null);
    expect(login.ok).toBe(true);
    const token = (login as { result: { token: string } }).result.token;
    expect(await core.call('site.get', {}, token)).toMatchObject({ ok: true, result: { customer_reference: 'My site' } });
    expect(await core.call('site.get', {}, 'forged')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });

    // A second core on the same data folder is refused, and says why.
    const second = start();
    const fatal = await second.next((m): m is Extract<CoreToMain, { type: 'fatal' }> => m.type === 'fatal');
    expect(fatal.message).toMatch(/Another Gatehouse \(pid \d+\) is using/);
    expect(await second.exited).toBe(1);

    core.send({ type: 'shutdown' });
    expect(await core.exited).toBe(0);
    expect(existsSync(join(dataDir, 'gatehouse.pid'))).toBe(false);
  });

  it('opens the same installation again without creating anything', async () => {
    const core = start({ GATEHOUSE_OWNER_PASSWORD: 'ignored because the owner exists' });
    expect(await core.next(isReady)).toMatchObject({ created: false, generatedPassword: null });
    core.send({ type: 'shutdown' });
    expect(await core.exited).toBe(0);
  });
});
