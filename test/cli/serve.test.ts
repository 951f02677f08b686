// `gatehouse serve` as a user runs it: a real process, a real port, signals to stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = join(process.cwd(), 'bin', 'gatehouse.mjs');
const dirs: string[] = [];
const procs: ChildProcess[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gh-cli-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Starts `gatehouse serve` and resolves with its URL and everything it printed so far. */
function serve(dataDir: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string; out: () => string }> {
  const proc = spawn(process.execPath, [BIN, '--data', dataDir, 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (b) => (out += String(b)));
  proc.stderr!.on('data', (b) => (out += String(b)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 60_000);
    proc.stdout!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, out: () => out });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
  });
}

const exited = (p: ChildProcess) => new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.on('exit', (c) => r(c))));

describe('gatehouse serve', () => {
  it('creates the site and an owner with a generated password shown once, serves on 127.0.0.1, stops on SIGTERM', async () => {
    const dir = tempDir();
    const { proc, url, out } = await serve(dir);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out()).toMatch(/Created operator 'owner' with password: \S{12,}/);
    const health = (await (await fetch(`${url}/api/health`)).json()) as { status: string; schema_version: number };
    expect(health.status).toBe('ok');
    expect(health.schema_version).toBeGreaterThan(0);
    const password = /password: (\S+)/.exec(out())![1]!;
    const tok = await fetch(`${url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'owner', password }) });
    expect(tok.status).toBe(200);
    expect(existsSync(join(dir, 'gatehouse.pid'))).toBe(true);
    proc.kill('SIGTERM');
    expect(await exited(proc)).toBe(0);
    expect(out()).toMatch(/SIGTERM: stopping/);
    expect(existsSync(join(dir, 'gatehouse.pid'))).toBe(false);

    // Second start: the same site, no new password printed.
    const again = await serve(dir);
    expect(again.out()).not.toMatch(/Created operator/);
    again.proc.kill('SIGINT');
    expect(await exited(again.proc)).toBe(0);
  });

  it('seeds the demo site with --demo and takes the owner password from GATEHOUSE_OWNER_PASSWORD', async () => {
    const dir = tempDir();
    const { proc, url, out } = await serve(dir, ['--demo'], { GATEHOUSE_OWNER_PASSWORD: 'correct horse battery' });
    expect(out()).toMatch(/Demo site seeded: 40 doors on 3 IQs, 500 people/);
    expect(out()).not.toMatch(/Created operator 'owner' with password/);
    const tok = (await (
      await fetch(`${url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'owner', password: 'correct horse battery' }) })
    ).json()) as { access_token: string };
    const sites = (await (await fetch(`${url}/v1.1/sites`, { headers: { authorization: `Bearer ${tok.access_token}` } })).json()) as { items: Array<{ id: string }> };
    const entries = (await (await fetch(`${url}/v1.1/sites/${sites.items[0]!.id}/entries?$top=1&$inlinecount=allpages`, { headers: { authorization: `Bearer ${tok.access_token}` } })).json()) as { count: number };
    expect(entries.count).toBeGreaterThan(10_000);
    // The demo's card encoder and its tray, with two demo people's cards already encoded.
    expect(out()).toMatch(/Demo: a simulated card encoder is attached/);
    const rpc = async (name: string) =>
      ((await (await fetch(`${url}/api/rpc/${name}`, { method: 'POST', headers: { authorization: `Bearer ${tok.access_token}` } })).json()) as { result: never }).result;
    await expect.poll(async () => (await rpc('encoders.list')) as unknown, { timeout: 10_000 }).toMatchObject({ tray: true, encoders: [{ id: 'sim:demo-encoder-1', simulated: true }] });
    expect(((await rpc('encoders.tray.list')) as Array<{ id: string }>).map((c) => c.id)).toEqual(expect.arrayContaining(['blank-1', 'encoded-1', 'encoded-2', 'hotel']));
    expect(await rpc('site.key')).toMatchObject({ generation: 1, source: 'generated' });
    // serve runs with the cloud connector: sync is available, off until an admin connects.
    expect(await rpc('cloud.status')).toMatchObject({ enabled: false, connected: false, account: null, pending_changes: 0 });
    proc.kill('SIGINT');
    expect(await exited(proc)).toBe(0);
  });

  it('refuses a second server on the same data folder', async () => {
    const dir = tempDir();
    const first = await serve(dir);
    const second = spawn(process.execPath, [BIN, '--data', dir, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(second);
    let err = '';
    second.stderr!.on('data', (b) => (err += String(b)));
    expect(await exited(second)).toBe(1);
    expect(err).toMatch(new RegExp(`Another Gatehouse \\(pid ${first.proc.pid}\\) is using`));
    first.proc.kill('SIGTERM');
    await exited(first.proc);
  });

  it('opens the UI in the default browser with --open, and keeps serving when there is no browser to open', async () => {
    // A stand-in for xdg-open that records the address it was asked to open.
    const fakeBin = tempDir();
    const opened = join(fakeBin, 'opened.txt');
    writeFileSync(join(fakeBin, 'xdg-open'), `#!/bin/sh\necho "$1" > "${opened}"\n`, { mode: 0o755 });
    const withBrowser = await serve(tempDir(), ['--open'], { PATH: `${fakeBin}:${process.env.PATH ?? ''}` });
    await expect.poll(() => withBrowser.out(), { timeout: 10_000 }).toMatch(/Opened http:\/\/127\.0\.0\.1:\d+\/ in the default browser/);
    await expect.poll(() => (existsSync(opened) ? readFileSync(opened, 'utf8').trim() : ''), { timeout: 10_000 }).toBe(`${withBrowser.url}/`);
    withBrowser.proc.kill('SIGTERM');
    await exited(withBrowser.proc);

    const emptyPath = tempDir();
    const headless = await serve(tempDir(), ['--open'], { PATH: emptyPath });
    await expect.poll(() => headless.out(), { timeout: 10_000 }).toMatch(/Could not open a browser \(xdg-open: .*ENOENT\); open http:\/\/127\.0\.0\.1:\d+\/ yourself/);
    expect((await fetch(`${headless.url}/api/health`)).status).toBe(200);
    headless.proc.kill('SIGTERM');
    expect(await exited(headless.proc)).toBe(0);
  });
});
