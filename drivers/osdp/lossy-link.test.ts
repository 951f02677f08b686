// CP and PD over a line that drops, corrupts, duplicates, delays, splits and adds noise, in both
// directions, plaintext and secure. Every command must take effect at the PD exactly once and the CP
// must see exactly that command's reply; every event the PD hands out in a POLL reply must reach the
// CP exactly once and in order — the retransmit-with-the-same-SQN and cached-reply rules at work.
// Seeded: a failing seed replays exactly.
import { describe, expect, it } from 'vitest';
import { Command, Reply } from './codes.ts';
import { ControlPanel } from './control-panel.ts';
import { Peripheral, type HandlerReply } from './peripheral.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { memoryLinkPair, type LineFaults, type LineStats } from './testing/memory-link.ts';
import { createRng } from './testing/prng.ts';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);

const u32 = (n: number) => Uint8Array.of(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
const readU32 = (b: Uint8Array) => (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
/** The reply a command deserves: its id, tagged, so a reply to another command cannot pass for it. */
const replyFor = (id: number) => Uint8Array.of(...u32(id), 0xc0, 0xde);

interface Totals {
  commands: number;
  events: number;
  line: LineStats;
  retransmits: number;
  replays: number;
  busy: number;
  stale: number;
  restarts: number;
  /** Candidates both receivers threw away for a bad CRC. */
  badCrc: number;
}

async function run(seed: number, secure: boolean, faults: LineFaults, steps: number): Promise<Totals> {
  const clock = new FakeClock();
  const rng = createRng(seed);
  const [cpLink, pdLink] = memoryLinkPair(clock, rng, faults, faults);

  const effects = new Map<number, number>();
  const queue: number[] = [];
  const raised: number[] = [];
  const pd = new Peripheral({
    link: pdLink,
    address: 0x21,
    clock,
    random: rng.bytes,
    scbk: secure ? KEY : undefined,
    enforceSecure: secure,
    handler: (c): HandlerReply | Promise<HandlerReply> => {
      if (c.code === Command.POLL) {
        const event = queue.shift();
        return event === undefined ? { code: Reply.ACK } : { code: Reply.RAW, data: u32(event) };
      }
      if (c.code !== Command.MFG) return { code: Reply.ACK };
      const id = readU32(c.data);
      effects.set(id, (effects.get(id) ?? 0) + 1);
      const reply = { code: Reply.MFGREP, data: replyFor(id) };
      // Now and then the hub takes longer than the CP waits: BUSY, then the cached reply.
      if (rng.next() < 0.05) return new Promise((resolve) => clock.setTimeout(() => resolve(reply), 250 + rng.int(400)));
      return reply;
    },
  });
  const cp = new ControlPanel({
    link: cpLink,
    address: 0x21,
    clock,
    random: rng.bytes,
    secureChannel: secure ? { scbk: KEY } : undefined,
    // Enough that giving up is out of the question at these loss rates (it would be ~1e-12 per command).
    maxRetries: 40,
  });
  pd.start();
  cp.start();
  await clock.runUntil(() => cp.state === 'online');

  const delivered: number[] = [];
  const sent: number[] = [];
  const poll = async () => {
    const reply = await clock.run(cp.send(Command.POLL));
    if (reply.code === Reply.RAW) delivered.push(readU32(reply.data));
    else expect(reply.code).toBe(Reply.ACK);
    return reply.code;
  };
  for (let step = 0; step < steps; step++) {
    if (rng.next() < 0.4) {
      queue.push(raised.length);
      raised.push(raised.length);
    }
    if (rng.next() < 0.5) {
      sent.push(step);
      const reply = await clock.run(cp.send(Command.MFG, u32(step)));
      expect(reply).toEqual({ code: Reply.MFGREP, data: replyFor(step) });
    } else {
      await poll();
    }
  }
  while ((await poll()) !== Reply.ACK);

  expect(cp.state).toBe('online');
  expect(delivered).toEqual(raised);
  expect([...effects.keys()].sort((a, b) => a - b)).toEqual(sent);
  expect([...effects.values()].every((n) => n === 1)).toBe(true);
  const line = pdLink.stats;
  const both = (k: keyof LineStats) => cpLink.stats[k] + line[k];
  return {
    commands: sent.length,
    events: raised.length,
    line: { writes: both('writes'), droppedWrites: both('droppedWrites'), droppedBytes: both('droppedBytes'), corrupted: both('corrupted'), duplicated: both('duplicated'), noisy: both('noisy') },
    retransmits: cp.stats.retransmits,
    replays: pd.stats.replays,
    busy: cp.stats.busy,
    stale: cp.stats.staleReplies,
    restarts: cp.stats.restarts,
    badCrc: cp.receiverStats.badCrc + pd.receiverStats.badCrc,
  };
}

const everything: LineFaults = { dropWrite: 0.1, dropByte: 0.003, corrupt: 0.1, duplicate: 0.1, noise: 0.05, maxDelayMs: 60, split: true };
const lateReplies: LineFaults = { dropWrite: 0.05, duplicate: 0.05, maxDelayMs: 400, split: true };
const heavyLoss: LineFaults = { dropWrite: 0.3, corrupt: 0.15, split: true };

function summary(name: string, totals: Totals[]): string {
  const sum = (f: (t: Totals) => number) => totals.reduce((n, t) => n + f(t), 0);
  return (
    `${name}: ${sum((t) => t.commands)} commands, ${sum((t) => t.events)} events; line: ${sum((t) => t.line.writes)} writes, ` +
    `${sum((t) => t.line.droppedWrites)} dropped, ${sum((t) => t.line.droppedBytes)} bytes dropped, ${sum((t) => t.line.corrupted)} corrupted, ` +
    `${sum((t) => t.line.duplicated)} duplicated, ${sum((t) => t.line.noisy)} noisy; CP ${sum((t) => t.retransmits)} retransmits, ` +
    `${sum((t) => t.busy)} BUSY, ${sum((t) => t.stale)} stale replies, ${sum((t) => t.restarts)} restarts; PD ${sum((t) => t.replays)} cached replays; ` +
    `${sum((t) => t.badCrc)} bad CRCs`
  );
}

describe('CP ↔ PD over a lossy line: exactly-once commands and events', () => {
  for (const secure of [false, true]) {
    const mode = secure ? 'secure channel' : 'plaintext';

    it(`${mode}: drops, corruption, duplicates, noise, split chunks (16 seeds × 300 steps)`, async () => {
      const totals: Totals[] = [];
      for (let seed = 1; seed <= 16; seed++) totals.push(await run(seed * 7919 + (secure ? 1 : 0), secure, everything, 300));
      console.info(summary(mode, totals));
      const sum = (f: (t: Totals) => number) => totals.reduce((n, t) => n + f(t), 0);
      // The faults must have bitten, or the test proves nothing.
      expect(sum((t) => t.line.droppedWrites + t.line.corrupted + t.line.droppedBytes)).toBeGreaterThan(1000);
      expect(sum((t) => t.replays)).toBeGreaterThan(100);
      expect(sum((t) => t.busy)).toBeGreaterThan(10);
      expect(sum((t) => t.badCrc)).toBeGreaterThan(500);
    });

    it(`${mode}: replies later than the reply timeout (8 seeds × 200 steps)`, async () => {
      const totals: Totals[] = [];
      for (let seed = 1; seed <= 8; seed++) totals.push(await run(seed * 104_729 + (secure ? 1 : 0), secure, lateReplies, 200));
      console.info(summary(`${mode}, late`, totals));
      expect(totals.reduce((n, t) => n + t.stale, 0)).toBeGreaterThan(50);
      expect(totals.reduce((n, t) => n + t.replays, 0)).toBeGreaterThan(50);
    });

    it(`${mode}: heavy loss (8 seeds × 150 steps)`, async () => {
      const totals: Totals[] = [];
      for (let seed = 1; seed <= 8; seed++) totals.push(await run(seed * 15_485_863 + (secure ? 1 : 0), secure, heavyLoss, 150));
      console.info(summary(`${mode}, heavy loss`, totals));
      expect(totals.reduce((n, t) => n + t.retransmits, 0)).toBeGreaterThan(300);
    });
  }
});
