// Nothing acknowledged is lost: a client keeps creating people through the REST API while the host is
// killed with SIGKILL at random moments. After each restart every person whose creation was
// acknowledged (HTTP 201) is there, the database passes its integrity check and the operator log's
// hash chain is whole.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fullIntegrityCheck, openDatabase } from '../../core/store/db.ts';
import { verifyOperatorLog } from '../../core/store/repos/operator-log.ts';

const BIN = join(process.cwd(), 'bin', 'gatehouse.mjs');
const dir = mkdtempSync(join(tmpdir(), 'gh-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [BIN, '--data', dir, 'serve', '--port', '0'], {
    env: { ...process.env, GATEHOUSE_OWNER_PASSWORD: 'correct horse battery' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (b) => {
      out += String(b);
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.stderr!.on('data', (b) => (out += String(b)));
    proc.on('exit', (code, signal) => reject(new Error(`exited early (${code ?? signal}):\n${out}`)));
  });
}

async function token(url: string): Promise<string> {
  const r = await fetch(`${url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'owner', password: 'correct horse battery' }) });
  return ((await r.json()) as { access_token: string }).access_token;
}

describe('SIGKILL during writes', () => {
  it('keeps every acknowledged write across 12 kills', async () => {
    const acknowledged: string[] = [];
    let attempted = 0;
    for (let round = 0; round < 12; round++) {
      const { proc, url } = await start();
      const auth = { authorization: `Bearer ${await token(url)}`, 'content-type': 'application/json' };
      const site = ((await (await fetch(`${url}/v1.1/sites`, { headers: auth })).json()) as { items: Array<{ id: string }> }).items[0]!.id;
      const dead = new Promise<void>((r) => proc.on('exit', () => r()));
      // Kill after a random number of milliseconds while requests are in flight.
      setTimeout(() => proc.kill('SIGKILL'), 150 + Math.floor(Math.random() * 600));
      let alive = true;
      void dead.then(() => (alive = false));
      const writers = Array.from({ length: 4 }, async (_, w) => {
        while (alive) {
          const email = `p${round}-${w}-${attempted++}@kill.example`;
          try {
            const r = await fetch(`${url}/v1.1/sites/${site}/users`, { method: 'POST', headers: auth, body: JSON.stringify({ first_name: 'Kill', last_name: `Test ${round}`, email }) });
            if (r.status === 201) acknowledged.push(email);
          } catch {
            break; // connection reset by the kill
          }
        }
      });
      await Promise.all(writers);
      await dead;
    }
    expect(acknowledged.length).toBeGreaterThan(20);
    const db = openDatabase(join(dir, 'gatehouse.db'));
    try {
      const emails = new Set(db.read.prepare('SELECT email FROM users').pluck().all() as string[]);
      const missing = acknowledged.filter((e) => !emails.has(e));
      expect(missing).toEqual([]);
      expect(fullIntegrityCheck(db.read)).toEqual([]);
      expect(verifyOperatorLog(db.read).firstBreak).toBeNull();
    } finally {
      db.close();
    }
  }, 180_000);
});
