// Issue 6 figures, card encoders, through the real path: the core (GatehouseService on a SQLite file,
// its EncoderManager: reserve, write, read back, commit), the real driver (CardEncoder over the CCID
// reader and WebUSB transfers) and the ACR122U simulator on a fake USB bus with virtual MIFARE Classic
// cards, wired as `serve --demo` wires it (bin/encoders.ts). The simulator answers at once: the card's
// radio time (about 4–10 ms per exchange on a real ACR122U) is excluded, and the exchanges per card
// are reported so that it can be added back.
// - encoders.one_card: from a blank card laid on the encoder (the operator already waiting) to
//   "encoded and verified" returned to the caller, the tag committed — p50/p95 over 40 cards;
// - encoders.bulk_200: a queue of 200 people, one blank card each laid on as soon as the previous
//   one is done — total time and cards per minute.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEncoders } from '../bin/encoders.ts';
import { ensureSite } from '../core/host/first-run.ts';
import { SecretBox } from '../core/secrets/secret-box.ts';
import { systemActor } from '../core/service/actor.ts';
import { GatehouseService } from '../core/service/service.ts';
import { openDatabase } from '../core/store/db.ts';
import { FakeUsbBus } from '../drivers/transport/fake-webusb.ts';
import { ms, now, percentile, report, round } from './lib.ts';
import { until } from '../test/until.ts';

const ONE_CARD_RUNS = 40;
const BULK = 200;
const ENCODER = 'sim:demo-encoder-1';
const sys = systemActor('bench');

const noUsb = () => {
  const bus = new FakeUsbBus();
  bus.failEnumeration(new Error('getDevices error: no USB in the benchmark'));
  return Promise.resolve(bus);
};

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-enc-'));
  const db = openDatabase(join(dir, 'gatehouse.db'));
  const encoders = createEncoders({ log: () => {}, simulated: true, usb: { load: noUsb }, blankCards: ONE_CARD_RUNS + BULK });
  try {
    ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    const svc = new GatehouseService(db);
    svc.secrets = new SecretBox(new Uint8Array(randomBytes(32)));
    const people = Array.from({ length: ONE_CARD_RUNS + BULK }, (_, i) => svc.run(sys, 'users.create', { first_name: 'Person', last_name: String(i) }).id);
    const stop = encoders.attach(svc);
    await until('the simulated encoder', () => svc.run(sys, 'encoders.list', {}).encoders.length > 0, 10_000, 5);
    const blanks = svc.run(sys, 'encoders.tray.list', {}).filter((c) => c.id.startsWith('blank-'));
    const sim = encoders.simulated!.simulator;
    let exchanges = 0;
    const count = sim.device.transferOut.bind(sim.device);
    sim.device.transferOut = (endpoint, data) => {
      exchanges++;
      return count(endpoint, data);
    };

    /** One card for one person, the operator already waiting for it: ms from laying it on to the answer. */
    const encodeOne = async (person: string, card: string): Promise<number> => {
      svc.run(sys, 'encoders.tray.remove', { encoder_id: ENCODER });
      const answer = svc.runAsync(sys, 'encoders.encode', { encoder_id: ENCODER, user_id: person });
      await until('the encoder waiting for a card', () => svc.run(sys, 'encoders.list', {}).encoders[0]?.busy, 10_000, 1);
      const t0 = now();
      svc.run(sys, 'encoders.tray.place', { card_id: card, encoder_id: ENCODER });
      const r = await answer;
      if (r.issue_counter !== 1) throw new Error('unexpected issue counter');
      return ms(t0);
    };

    const samples: number[] = [];
    exchanges = 0;
    for (let i = 0; i < ONE_CARD_RUNS; i++) samples.push(await encodeOne(people[i]!, blanks[i]!.id));
    report('encoders.one_card', {
      cards: ONE_CARD_RUNS,
      p50_ms: round(percentile(samples, 50)),
      p95_ms: round(percentile(samples, 95)),
      max_ms: round(Math.max(...samples)),
      usb_commands_per_card: round(exchanges / ONE_CARD_RUNS, 1),
    });

    exchanges = 0;
    const before = svc.run(sys, 'tags.list', { top: 1 }).count;
    const t0 = now();
    for (let i = 0; i < BULK; i++) await encodeOne(people[ONE_CARD_RUNS + i]!, blanks[ONE_CARD_RUNS + i]!.id);
    const total = ms(t0);
    const made = svc.run(sys, 'tags.list', { top: 1 }).count - before;
    if (made !== BULK) throw new Error(`expected ${BULK} new tags, found ${made}`);
    report('encoders.bulk_200', {
      cards: BULK,
      total_s: round(total / 1000, 2),
      per_card_ms: round(total / BULK),
      cards_per_minute: Math.round((BULK / total) * 60_000),
      usb_commands_per_card: round(exchanges / BULK, 1),
    });
    await stop?.();
  } finally {
    await encoders.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
