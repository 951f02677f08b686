// A device and its driver in one process, for test/audit/sigkill-ingest.test.ts. The device holds events
// 1..N and deletes them once acknowledged: its state (acknowledged up to) is a small file in DIR that it
// rewrites (temp file + fsync + rename) only after `entries.ingest` has returned. On start it resumes
// after the last acknowledged event, and it sometimes re-sends a range it already had acknowledged, as a
// device that missed an acknowledgement would.
//
//   node --import tsx test/audit/ingest-child.ts DIR [N]
//
// Prints "ready <acked>" once the site is open and "done" when every event is acknowledged.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureSite } from '../../core/host/first-run.ts';
import { systemActor } from '../../core/service/actor.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase } from '../../core/store/db.ts';

export const SOURCE = 'device-1';
export const TAG_NUMBER = '0000004242';
const BASE_MS = Date.UTC(2025, 0, 1);

/** Event i of the device: the same every time it is asked for. */
export function deviceEvent(i: number, lockId: string) {
  return {
    event_id: `ev-${i}`,
    time: new Date(BASE_MS + i * 1000).toISOString(),
    event_category: i % 10 === 0 ? 'lock_rejected' : 'lock_opened',
    event_detail: i % 10 === 0 ? 'outside_schedule' : null,
    access_by: 'tag',
    lock_id: lockId,
    tag_number: i % 3 === 0 ? '9999999999' : TAG_NUMBER,
  };
}

function readAcked(file: string): number {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { acked: number }).acked : 0;
}

function writeAcked(dir: string, file: string, acked: number): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify({ acked }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const d = openSync(dir, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const total = Number(process.argv[3] ?? 20_000);
  if (!dir || !Number.isInteger(total) || total < 1) throw new Error('usage: ingest-child.ts DIR [N]');
  const stateFile = join(dir, 'device.json');

  const db = openDatabase(join(dir, 'gatehouse.db'));
  ensureSite(db, { name: 'Kill test', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
  const svc = new GatehouseService(db);
  const sys = systemActor('device-driver');
  // Set up on the first run (each step is one transaction, so a kill in between is picked up here).
  const lock = svc.run(sys, 'locks.list', { top: 1 }).items[0] ?? svc.run(sys, 'locks.create', { customer_reference: 'Kill door' });
  let user = svc.run(sys, 'users.list', { top: 1 }).items[0];
  if (!user) user = svc.run(sys, 'users.create', { first_name: 'Kim', last_name: 'Kill' });
  if (svc.run(sys, 'tags.list', { top: 1 }).items.length === 0) svc.run(sys, 'tags.create', { tag_number: TAG_NUMBER, user_id: user.id });

  let acked = readAcked(stateFile);
  process.stdout.write(`ready ${acked}\n`);
  while (acked < total) {
    let from = acked + 1;
    // Now and then the device re-sends what it had already had acknowledged.
    if (acked > 0 && Math.random() < 0.25) from = Math.max(1, acked - Math.floor(Math.random() * 300));
    const to = Math.min(total, from + Math.floor(Math.random() * 500));
    const entries = [];
    for (let i = from; i <= to; i++) entries.push(deviceEvent(i, lock.id));
    // And sometimes the same event twice in one batch.
    if (Math.random() < 0.2) entries.push(deviceEvent(from + Math.floor(Math.random() * (to - from + 1)), lock.id));
    svc.run(sys, 'entries.ingest', { source: SOURCE, entries });
    // Acknowledged: only now may the device forget these events.
    if (to > acked) {
      acked = to;
      writeAcked(dir, stateFile, acked);
    }
    // The link to the device is not instantaneous.
    await sleep(Number(process.env.GH_DEVICE_DELAY_MS ?? 0));
  }
  db.close();
  process.stdout.write('done\n');
}

await main();
