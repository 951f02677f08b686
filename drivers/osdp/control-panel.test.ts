// The CP's link rules against a scripted PD that answers (or not) exactly as each test needs.
import { describe, expect, it } from 'vitest';
import { Command, NakReason, Reply } from './codes.ts';
import { ControlPanel, type ControlPanelOptions, type LinkState } from './control-panel.ts';
import { OsdpError } from './errors.ts';
import { encodePacket, type CheckKind, type Packet, type Sqn } from './packet.ts';
import { StreamParser } from './stream-parser.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { memoryLinkPair } from './testing/memory-link.ts';
import { createRng } from './testing/prng.ts';

type Respond = (packet: Packet, n: number) => Uint8Array[] | Uint8Array | null;

function reply(to: Packet, code: number, data: Uint8Array = new Uint8Array(0), opts: { sqn?: Sqn; check?: CheckKind } = {}): Uint8Array {
  return encodePacket({ address: to.address, reply: true, sqn: opts.sqn ?? to.sqn, code, data, check: opts.check ?? to.check });
}

const ack: Respond = (p) => (p.code === Command.ID ? reply(p, Reply.PDID, Uint8Array.of(1, 2, 3)) : reply(p, Reply.ACK));

function setup(options: Partial<ControlPanelOptions> = {}) {
  const clock = new FakeClock();
  const [cpLink, pdLink] = memoryLinkPair(clock, createRng(1));
  const received: { packet: Packet; at: number }[] = [];
  const states: LinkState[] = [];
  const parser = new StreamParser();
  let respond: Respond = ack;
  pdLink.onData((chunk) => {
    for (const packet of parser.push(chunk)) {
      received.push({ packet, at: clock.now() });
      const out = respond(packet, received.filter((r) => r.packet.code === packet.code).length);
      for (const bytes of out === null ? [] : Array.isArray(out) ? out : [out]) void pdLink.write(bytes);
    }
  });
  const cp = new ControlPanel({ link: cpLink, address: 5, clock, onStateChange: (s) => states.push(s), ...options });
  return {
    clock,
    cp,
    cpLink,
    received,
    states,
    respondWith(r: Respond) {
      respond = r;
    },
    /** Writes what `make` returns `ms` from now, as a PD that takes its time. */
    later(ms: number, make: () => Uint8Array) {
      clock.setTimeout(() => void pdLink.write(make()), ms);
    },
    async online() {
      cp.start();
      await clock.runUntil(() => cp.state === 'online');
    },
  };
}

async function rejection(clock: FakeClock, promise: Promise<unknown>): Promise<OsdpError> {
  try {
    await clock.run(promise);
  } catch (error) {
    expect(error).toBeInstanceOf(OsdpError);
    return error as OsdpError;
  }
  throw new Error('expected the command to fail');
}

describe('ControlPanel', () => {
  it('connects with osdp_ID at SQN 0, then numbers commands 1, 2, 3, 1', async () => {
    const t = setup();
    await t.online();
    expect(t.cp.identity).toEqual(Uint8Array.of(1, 2, 3));
    for (let i = 0; i < 4; i++) expect((await t.clock.run(t.cp.send(Command.POLL))).code).toBe(Reply.ACK);
    expect(t.received.map((r) => [r.packet.code, r.packet.sqn])).toEqual([
      [Command.ID, 0],
      [Command.POLL, 1],
      [Command.POLL, 2],
      [Command.POLL, 3],
      [Command.POLL, 1],
    ]);
    expect(t.states).toEqual(['connecting', 'online']);
  });

  it('has one command in flight: the next goes out only after the reply to the previous', async () => {
    const t = setup();
    await t.online();
    let outstanding = 0;
    let most = 0;
    t.respondWith((p) => {
      outstanding++;
      most = Math.max(most, outstanding);
      t.later(50, () => {
        outstanding--;
        return reply(p, Reply.ACK);
      });
      return null;
    });
    const replies = await t.clock.run(Promise.all([1, 2, 3].map(() => t.cp.send(Command.POLL))));
    expect(replies.map((r) => r.code)).toEqual([Reply.ACK, Reply.ACK, Reply.ACK]);
    expect(most).toBe(1);
    expect(t.received.slice(1).map((r) => r.at - t.received[1]!.at)).toEqual([0, 50, 100]);
  });

  it('resends the very same bytes with the same SQN when a reply is lost', async () => {
    const t = setup();
    await t.online();
    t.respondWith((p, n) => (p.code === Command.POLL && n <= 2 ? null : ack(p, n)));
    const started = t.clock.now();
    expect((await t.clock.run(t.cp.send(Command.POLL))).code).toBe(Reply.ACK);
    const polls = t.received.filter((r) => r.packet.code === Command.POLL);
    expect(polls).toHaveLength(3);
    expect(polls.map((r) => r.packet.raw)).toEqual([polls[0]!.packet.raw, polls[0]!.packet.raw, polls[0]!.packet.raw]);
    expect(polls.map((r) => r.at - started)).toEqual([0, 200, 400]);
    expect(t.cp.stats.retransmits).toBe(2);
  });

  it('after maxRetries resends goes offline, fails the command with no_reply, and reconnects with doubling backoff', async () => {
    const t = setup({ maxRetries: 2, reconnectMinMs: 1000, reconnectMaxMs: 3000 });
    await t.online();
    let answering = false;
    t.respondWith((p, n) => (answering ? ack(p, n) : null));
    const error = await rejection(t.clock, t.cp.send(Command.POLL));
    expect(error.code).toBe('no_reply');
    expect(error.message).toMatch(/after 3 sends; the hub may or may not have acted on it/);
    expect(t.cp.state).toBe('offline');
    expect((await rejection(t.clock, t.cp.send(Command.POLL))).code).toBe('offline');

    const offlineAt = t.clock.now();
    await t.clock.advance(1000 + 600 + 2000 + 600 + 3000 + 600 - 1);
    const ids = t.received.filter((r) => r.packet.code === Command.ID && r.at > offlineAt).map((r) => r.at - offlineAt);
    // Each attempt: 3 sends 200 ms apart; attempts 1 s, then 2 s, then 3 s (the cap) after the last failure.
    expect(ids).toEqual([1000, 1200, 1400, 3600, 3800, 4000, 7200, 7400, 7600]);
    answering = true;
    await t.clock.runUntil(() => t.cp.state === 'online');
    // The attempt under way when the PD came back still fails (its last send was not answered).
    expect(t.clock.now() - offlineAt).toBe(7800 + 3000);
    expect(t.states.slice(-2)).toEqual(['connecting', 'online']);
  });

  it('restarts at SQN 0 after NAK "sequence number" and sends the command again', async () => {
    const t = setup();
    await t.online();
    t.respondWith((p, n) => (p.code === Command.OUT && n === 1 ? reply(p, Reply.NAK, Uint8Array.of(NakReason.SEQ_NUM)) : ack(p, n)));
    expect((await t.clock.run(t.cp.send(Command.OUT, Uint8Array.of(0, 1, 0, 0)))).code).toBe(Reply.ACK);
    expect(t.received.map((r) => [r.packet.code, r.packet.sqn])).toEqual([
      [Command.ID, 0],
      [Command.OUT, 1],
      [Command.ID, 0],
      [Command.OUT, 1],
    ]);
    expect(t.cp.stats.restarts).toBe(1);
  });

  it('surfaces any other NAK as a typed error and stays online', async () => {
    const t = setup();
    await t.online();
    t.respondWith((p, n) => (p.code === Command.MFG ? reply(p, Reply.NAK, Uint8Array.of(NakReason.CMD_UNKNOWN)) : ack(p, n)));
    const error = await rejection(t.clock, t.cp.send(Command.MFG, Uint8Array.of(1, 2, 3)));
    expect(error).toMatchObject({ code: 'nak', nakReason: NakReason.CMD_UNKNOWN });
    expect(error.message).toBe('the hub refused MFG (0x80): unknown command code (not implemented by the PD) (0x03)');
    expect(t.cp.state).toBe('online');
    expect((await t.clock.run(t.cp.send(Command.POLL))).code).toBe(Reply.ACK);
  });

  it('waits busyRetryMs after osdp_BUSY and resends the same bytes', async () => {
    const t = setup({ busyRetryMs: 800 });
    await t.online();
    t.respondWith((p, n) => (p.code === Command.LED && n === 1 ? reply(p, Reply.BUSY, undefined, { sqn: 0 }) : ack(p, n)));
    expect((await t.clock.run(t.cp.send(Command.LED, new Uint8Array(14)))).code).toBe(Reply.ACK);
    const leds = t.received.filter((r) => r.packet.code === Command.LED);
    expect(leds).toHaveLength(2);
    expect(leds[1]!.packet.raw).toEqual(leds[0]!.packet.raw);
    expect(leds[1]!.at - leds[0]!.at).toBe(800);
    expect(t.cp.stats.busy).toBe(1);
  });

  it('ignores replies for another SQN, and replies in the other check mode', async () => {
    const t = setup();
    await t.online();
    t.respondWith((p, n) =>
      p.code === Command.POLL
        ? [reply(p, Reply.NAK, Uint8Array.of(1), { sqn: ((p.sqn % 3) + 1) as Sqn }), reply(p, Reply.NAK, Uint8Array.of(1), { check: 'checksum' }), reply(p, Reply.ACK)]
        : ack(p, n),
    );
    expect((await t.clock.run(t.cp.send(Command.POLL))).code).toBe(Reply.ACK);
    expect(t.cp.stats.staleReplies).toBe(1);
  });

  it('sends nothing more once stopped, even between the steps of connecting', async () => {
    const t = setup({ secureChannel: { scbk: new Uint8Array(16) } });
    // Listening after the CP, this stops it the moment the ID reply has been handed over, before the
    // CP's next step (the challenge) runs.
    t.cp.start();
    t.cpLink.onData(() => t.cp.stop());
    await t.clock.advance(1000);
    expect(t.received.map((r) => r.packet.code)).toEqual([Command.ID]);
    expect(t.cp.state).toBe('stopped');
  });

  it('speaks checksum mode when configured to', async () => {
    const t = setup({ check: 'checksum' });
    await t.online();
    expect((await t.clock.run(t.cp.send(Command.POLL))).code).toBe(Reply.ACK);
    expect(t.received.map((r) => r.packet.check)).toEqual(['checksum', 'checksum']);
  });

  it('refuses a command too large for one packet before sending anything', async () => {
    const t = setup();
    await t.online();
    expect((await rejection(t.clock, t.cp.send(Command.MFG, new Uint8Array(1420)))).code).toBe('too_large');
    expect(t.received).toHaveLength(1);
  });

  it('on stop fails the command in flight and those queued, and sends nothing more', async () => {
    const t = setup();
    await t.online();
    t.respondWith(() => null);
    const outcomes = Promise.allSettled([t.cp.send(Command.POLL), t.cp.send(Command.POLL)]);
    await t.clock.advance(50);
    t.cp.stop();
    const [inFlight, queued] = await t.clock.run(outcomes);
    expect(inFlight).toMatchObject({ status: 'rejected', reason: { code: 'stopped' } });
    expect(queued).toMatchObject({ status: 'rejected', reason: { code: 'stopped' } });
    const count = t.received.length;
    await t.clock.advance(5000);
    expect(t.received).toHaveLength(count);
    expect(t.cp.state).toBe('stopped');
  });
});
