// Backup and restore from the app: GET /api/backup streams an online backup, POST /api/restore swaps
// the live database of a running host (who may, what is checked, what is kept, what clients see).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHost, type RunningHost } from '../../core/host/host.ts';
import { systemActor } from '../../core/service/actor.ts';

const OWNER_PASSWORD = 'correct horse battery';
let host: RunningHost;
let dataDir: string;
const tokens: Record<string, string> = {};

async function login(username: string, password: string): Promise<string> {
  const r = await fetch(`${host.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password }) });
  return ((await r.json()) as { access_token: string }).access_token;
}
async function rpc<T>(name: string, input: unknown, token = tokens.owner): Promise<{ status: number; body: { result: T; error?: { code: string; message: string } } }> {
  const r = await fetch(`${host.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(input) });
  return { status: r.status, body: (await r.json()) as never };
}
async function backup(token = tokens.owner) {
  const r = await fetch(`${host.url}/api/backup`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}
async function restore(bytes: Uint8Array, opts: { token?: string; dryRun?: boolean; type?: string } = {}) {
  const r = await fetch(`${host.url}/api/restore${opts.dryRun ? '?dry_run=true' : ''}`, {
    method: 'POST',
    headers: { 'content-type': opts.type ?? 'application/octet-stream', authorization: `Bearer ${opts.token ?? tokens.owner}` },
    body: bytes,
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
}
/** A pushed-events socket (/api/events), signed in; collects what it receives and how it closed. */
async function events(token = tokens.owner) {
  const ws = new WebSocket(`${host.url.replace('http', 'ws')}/api/events`);
  const got: Array<{ event: string; payload: unknown }> = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  const ready = new Promise<void>((resolve) =>
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { event: string; payload: unknown };
      got.push(m);
      if (m.event === 'ready') resolve();
    }),
  );
  await new Promise((resolve) => ws.on('open', resolve));
  ws.send(JSON.stringify({ token }));
  await ready;
  return { ws, got, closed };
}
const people = async () => (await rpc<{ count: number }>('users.list', { top: 1 })).body.result.count;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-backup-routes-'));
  host = await startHost({ dataDir, port: 0, host: '127.0.0.1', demo: false, ownerPassword: OWNER_PASSWORD, version: 'test', log: () => {} });
  const sys = systemActor('test');
  for (const role of ['admin', 'auditor'] as const) host.service.run(sys, 'operators.create', { username: role, display_name: role, role, password: `${role}-password-1` });
  host.service.run(sys, 'users.create', { first_name: 'Ann', last_name: 'Before' });
  tokens.owner = await login('owner', OWNER_PASSWORD);
  tokens.admin = await login('admin', 'admin-password-1');
  tokens.auditor = await login('auditor', 'auditor-password-1');
});
afterAll(async () => {
  await host?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('GET /api/backup', () => {
  it('needs a token and the backup permission', async () => {
    expect((await backup('')).status).toBe(401);
    const refused = await backup(tokens.auditor);
    expect(refused.status).toBe(403);
    expect(refused.bytes.toString()).toContain("needs the 'backup' permission");
  });

  it('sends a whole SQLite database named by date, and leaves no file behind', async () => {
    const r = await backup(tokens.admin);
    expect(r.status).toBe(200);
    expect(r.bytes.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="gatehouse-\d{4}-\d{2}-\d{2}\.db"$/);
    expect(Number(r.headers.get('content-length'))).toBe(r.bytes.length);
    await expect.poll(() => readdirSync(dataDir).filter((f) => f.startsWith('.gatehouse-'))).toEqual([]);
    const log = (await rpc<{ items: Array<{ command: string; actor_name: string }> }>('operator_log.list', { top: 5 })).body.result.items;
    expect(log.map((l) => `${l.command} ${l.actor_name}`)).toContain('backup.download admin');
  });
});

describe('POST /api/restore', () => {
  it('refuses anyone but an owner, and files that are not Gatehouse backups', async () => {
    const { bytes } = await backup();
    expect((await restore(bytes, { token: tokens.auditor })).status).toBe(403);
    const admin = await restore(bytes, { token: tokens.admin });
    expect(admin.status).toBe(403);
    expect(admin.body.error?.message).toBe('Only an owner may restore a backup');

    const junk = await restore(Buffer.from('SQLite format 3\0 but not really'));
    expect(junk.status).toBe(400);
    expect(junk.body.error?.message).toMatch(/^This is not a Gatehouse backup that can be restored: .*the uploaded file/);
    expect(junk.body.error?.message).not.toContain(dataDir);
    const text = await restore(bytes, { type: 'text/plain' });
    expect(text.status).toBe(400);
    expect(text.body.error?.message).toBe('Send the backup file as the request body with Content-Type: application/octet-stream');
    expect(await people()).toBe(1);
    expect(readdirSync(dataDir).filter((f) => f.startsWith('.gatehouse-'))).toEqual([]);
  });

  it('describes a backup on a dry run without changing anything', async () => {
    const { bytes } = await backup();
    const r = await restore(bytes, { dryRun: true });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ dry_run: true, backup: { site_name: expect.any(String), counts: { users: 1, operators: 3 }, bytes: bytes.length } });
    expect(existsSync(join(dataDir, 'gatehouse.db'))).toBe(true);
    expect(readdirSync(dataDir).some((f) => f.includes('before-restore'))).toBe(false);
  });

  it('swaps the live database: later changes are gone, the server keeps serving, the old file is kept', async () => {
    const { bytes } = await backup();
    const before = host.service;
    await rpc('users.create', { first_name: 'Bob', last_name: 'After' });
    await rpc('operators.create', { username: 'later', display_name: 'Later', role: 'auditor', password: 'later-password-1' });
    expect(await people()).toBe(2);
    const laterToken = await login('later', 'later-password-1');

    const socket = await events();
    const r = await restore(bytes);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Sockets subscribed to the old service are closed so that clients reconnect; a new one hears the new service.
    expect(await socket.closed).toBe(1012);
    expect(r.body).toMatchObject({ dry_run: false, backup: { counts: { users: 1 } }, previous: expect.stringMatching(/^gatehouse\.db\.before-restore-/) });
    expect(host.service).not.toBe(before);

    // The owner's token was in the backup; the operator added afterwards is not, nor is their session.
    expect(await people()).toBe(1);
    expect((await rpc('users.list', { search: 'After' })).body.result).toMatchObject({ count: 0 });
    expect((await rpc('auth.me', {}, laterToken)).status).toBe(401);
    expect((await fetch(`${host.url}/api/health`)).status).toBe(200);
    const log = (await rpc<{ items: Array<{ command: string; actor_name: string }> }>('operator_log.list', { top: 3 })).body.result.items;
    expect(log[0]).toMatchObject({ command: 'backup.restore', actor_name: 'owner' });
    expect(readdirSync(dataDir).filter((f) => f.startsWith('gatehouse.db.before-restore-') && !f.match(/-(wal|shm|journal)$/))).toHaveLength(1);

    const again = await events();
    await rpc('users.create', { first_name: 'Dee', last_name: 'Heard' });
    await expect.poll(() => again.got.some((m) => m.event === 'model.changed')).toBe(true);
    again.ws.close();
    await rpc('users.delete', { id: (await rpc<{ items: Array<{ id: string }> }>('users.list', { search: 'Heard' })).body.result.items[0]!.id });

    // Writes go to the restored file and survive a restart of the host.
    await rpc('users.create', { first_name: 'Cas', last_name: 'Restored' });
    await host.close();
    host = await startHost({ dataDir, port: 0, host: '127.0.0.1', demo: false, ownerPassword: OWNER_PASSWORD, version: 'test', log: () => {} });
    tokens.owner = await login('owner', OWNER_PASSWORD);
    expect((await rpc<{ items: Array<{ last_name: string }> }>('users.list', { order_by: [{ field: 'last_name' }] })).body.result.items.map((u) => u.last_name)).toEqual(['Before', 'Restored']);
  });
});
