// The PD's link rules, driven by raw packets so every byte it sends back can be checked.
import { describe, expect, it } from 'vitest';
import { Command, NakReason, Reply } from './codes.ts';
import { encodePacket, type Packet, type PacketFields, type Sqn } from './packet.ts';
import { Peripheral, type CommandHandler, type CommandMessage, type PeripheralOptions } from './peripheral.ts';
import { StreamParser } from './stream-parser.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { memoryLinkPair } from './testing/memory-link.ts';
import { createRng } from './testing/prng.ts';

const cmd = (sqn: Sqn, code: number, data: Uint8Array = new Uint8Array(0), extra: Partial<PacketFields> = {}) =>
  encodePacket({ address: 5, reply: false, sqn, code, data, ...extra });

function setup(options: Partial<PeripheralOptions> = {}) {
  const clock = new FakeClock();
  const [cpLink, pdLink] = memoryLinkPair(clock, createRng(2));
  const handled: CommandMessage[] = [];
  let answer: CommandHandler = () => ({ code: Reply.ACK });
  const pd = new Peripheral({
    link: pdLink,
    address: 5,
    clock,
    handler: (c) => {
      handled.push(c);
      return answer(c);
    },
    ...options,
  });
  pd.start();
  const parser = new StreamParser();
  const replies: Packet[] = [];
  cpLink.onData((chunk) => replies.push(...parser.push(chunk)));
  return {
    clock,
    pd,
    handled,
    answerWith(h: CommandHandler) {
      answer = h;
    },
    /** Sends raw bytes and returns what the PD answered within 10 ms. */
    async send(bytes: Uint8Array): Promise<Packet[]> {
      const before = replies.length;
      await cpLink.write(bytes);
      await clock.advance(10);
      return replies.slice(before);
    },
    /** Lets `ms` pass and returns what the PD sent meanwhile. */
    async wait(ms: number): Promise<Packet[]> {
      const before = replies.length;
      await clock.advance(ms);
      return replies.slice(before);
    },
    async one(bytes: Uint8Array): Promise<Packet> {
      const got = await this.send(bytes);
      expect(got).toHaveLength(1);
      return got[0]!;
    },
  };
}

const nakReason = (p: Packet) => (p.code === Reply.NAK ? p.data[0] : null);

describe('Peripheral', () => {
  it("answers with the command's SQN, its address with the reply bit, its mark and check mode", async () => {
    const t = setup();
    const r = await t.one(cmd(0, Command.ID, Uint8Array.of(0), { mark: false, check: 'checksum' }));
    expect(r).toMatchObject({ address: 5, reply: true, sqn: 0, check: 'checksum', mark: false, code: Reply.ACK });
    expect(r.raw.subarray(0, 2)).toEqual(Uint8Array.of(0x53, 0x85));
    expect((await t.one(cmd(1, Command.POLL))).sqn).toBe(1);
  });

  it('answers a retransmission from its cache, bit for bit, without running the handler again', async () => {
    const t = setup();
    let calls = 0;
    t.answerWith(() => ({ code: Reply.MFGREP, data: Uint8Array.of(++calls) }));
    await t.one(cmd(0, Command.ID, Uint8Array.of(0)));
    const command = cmd(1, Command.MFG, Uint8Array.of(0xaa));
    const first = await t.one(command);
    const again = await t.one(command);
    const withoutMark = await t.one(command.subarray(1));
    expect(again.raw).toEqual(first.raw);
    expect(withoutMark.raw).toEqual(first.raw);
    expect(first.data).toEqual(Uint8Array.of(2));
    expect(t.handled.filter((c) => c.code === Command.MFG)).toHaveLength(1);
    expect(t.pd.stats.replays).toBe(2);
  });

  it('refuses a repeated SQN with other bytes, and an SQN out of turn, with NAK "sequence number"', async () => {
    const t = setup();
    await t.one(cmd(0, Command.ID, Uint8Array.of(0)));
    await t.one(cmd(1, Command.MFG, Uint8Array.of(1)));
    const repeat = await t.one(cmd(1, Command.MFG, Uint8Array.of(2)));
    expect(repeat).toMatchObject({ sqn: 1, code: Reply.NAK });
    expect(nakReason(repeat)).toBe(NakReason.SEQ_NUM);
    expect(nakReason(await t.one(cmd(3, Command.POLL)))).toBe(NakReason.SEQ_NUM);
    expect((await t.one(cmd(2, Command.POLL))).code).toBe(Reply.ACK);
    expect(t.handled.map((c) => c.code)).toEqual([Command.ID, Command.MFG, Command.POLL]);
    expect(t.pd.stats.sequenceNaks).toBe(2);
  });

  it('accepts only SQN 0 until the link has been started', async () => {
    const t = setup();
    expect(nakReason(await t.one(cmd(1, Command.POLL)))).toBe(NakReason.SEQ_NUM);
    expect((await t.one(cmd(0, Command.POLL))).code).toBe(Reply.ACK);
    expect(t.handled).toHaveLength(1);
  });

  it('restarts on SQN 0: the sequence starts over and the cached reply is gone', async () => {
    const t = setup();
    await t.one(cmd(0, Command.ID, Uint8Array.of(0)));
    const mfg = cmd(1, Command.MFG, Uint8Array.of(7));
    await t.one(mfg);
    await t.one(cmd(2, Command.POLL));
    await t.one(cmd(0, Command.ID, Uint8Array.of(0)));
    expect((await t.one(mfg)).code).toBe(Reply.ACK);
    expect(t.handled.filter((c) => c.code === Command.MFG)).toHaveLength(2);
    expect(t.pd.stats.replays).toBe(0);
  });

  it('answers osdp_BUSY (SQN 0) while the handler works, then the reply, then the cached reply', async () => {
    const t = setup();
    await t.one(cmd(0, Command.ID, Uint8Array.of(0)));
    t.answerWith(() => new Promise((resolve) => t.clock.setTimeout(() => resolve({ code: Reply.MFGREP, data: Uint8Array.of(9) }), 300)));
    const command = cmd(1, Command.MFG, Uint8Array.of(1));
    expect(await t.send(command)).toEqual([]);
    await t.clock.advance(200);
    const busy = await t.one(command);
    expect(busy).toMatchObject({ code: Reply.BUSY, sqn: 0, securityBlock: null });
    const late = await t.wait(100);
    expect(late.map((p) => [p.code, p.sqn])).toEqual([[Reply.MFGREP, 1]]);
    expect((await t.one(command)).raw).toEqual(late[0]!.raw);
    expect(t.handled.filter((c) => c.code === Command.MFG)).toHaveLength(1);
    expect(t.pd.stats.busy).toBe(1);
  });

  it('answers NAK "unable to process" when the handler throws or its reply cannot be sent', async () => {
    const t = setup();
    await t.one(cmd(0, Command.ID, Uint8Array.of(0)));
    t.answerWith(() => {
      throw new Error('door controller unplugged');
    });
    expect(nakReason(await t.one(cmd(1, Command.OUT, Uint8Array.of(0, 1, 0, 0))))).toBe(NakReason.RECORD);
    t.answerWith(() => ({ code: Reply.MFGREP, data: new Uint8Array(1500) }));
    expect(nakReason(await t.one(cmd(2, Command.MFG, Uint8Array.of(1))))).toBe(NakReason.RECORD);
    t.answerWith(() => ({ code: Reply.ACK }));
    expect((await t.one(cmd(3, Command.POLL))).code).toBe(Reply.ACK);
  });

  it("ignores other addresses and other PDs' replies, and answers broadcasts as 0x7F", async () => {
    const t = setup();
    expect(await t.send(encodePacket({ address: 6, reply: false, sqn: 0, code: Command.POLL }))).toEqual([]);
    expect(await t.send(encodePacket({ address: 5, reply: true, sqn: 0, code: Reply.ACK }))).toEqual([]);
    const r = await t.one(encodePacket({ address: 0x7f, reply: false, sqn: 0, code: Command.ID, data: Uint8Array.of(0) }));
    expect(r.raw[1]).toBe(0xff);
    expect(t.handled).toHaveLength(1);
  });

  it('says nothing once stopped', async () => {
    const t = setup();
    t.pd.stop();
    expect(await t.send(cmd(0, Command.POLL))).toEqual([]);
    expect(t.handled).toHaveLength(0);
  });

  it('drops a corrupted packet without a word', async () => {
    const t = setup();
    const bad = cmd(0, Command.POLL);
    bad[6] = bad[6]! ^ 0x01;
    expect(await t.send(bad)).toEqual([]);
    expect(t.handled).toHaveLength(0);
    expect(t.pd.receiverStats.badCrc).toBe(1);
  });

  it('in enforced secure mode answers only ID and CAP in the clear', async () => {
    expect(() => setup({ enforceSecure: true })).toThrow(/needs a provisioned SCBK/);
    const t = setup({ enforceSecure: true, scbk: new Uint8Array(16).fill(7) });
    expect((await t.one(cmd(0, Command.ID, Uint8Array.of(0)))).code).toBe(Reply.ACK);
    expect((await t.one(cmd(1, Command.CAP, Uint8Array.of(0)))).code).toBe(Reply.ACK);
    expect(nakReason(await t.one(cmd(2, Command.POLL)))).toBe(NakReason.SC_COND);
    expect(t.handled.map((c) => c.code)).toEqual([Command.ID, Command.CAP]);
  });

  it('refuses handshake commands without their security block, and KEYSET outside a session', async () => {
    const t = setup();
    await t.one(cmd(0, Command.ID, Uint8Array.of(0)));
    expect(nakReason(await t.one(cmd(1, Command.CHLNG, new Uint8Array(8))))).toBe(NakReason.SC_COND);
    expect(nakReason(await t.one(cmd(1, Command.SCRYPT, new Uint8Array(16))))).toBe(NakReason.SC_COND);
    expect(nakReason(await t.one(cmd(1, Command.KEYSET, new Uint8Array(18))))).toBe(NakReason.SC_COND);
    expect(t.pd.installMode).toBe(true);
    expect(t.handled.map((c) => c.code)).toEqual([Command.ID]);
  });
});
