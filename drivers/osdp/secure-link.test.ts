// CP and PD together over an in-memory line, with the secure channel: the handshake with the right
// key, the wrong key, install mode and KEYSET, tampered packets, an expired session.
import { describe, expect, it } from 'vitest';
import { Command, NakReason, Reply, Scs } from './codes.ts';
import { ControlPanel, type ControlPanelOptions, type KeyRequest } from './control-panel.ts';
import { crc16 } from './crc.ts';
import { OsdpError } from './errors.ts';
import type { ByteLink } from './link.ts';
import { decodePacket, type Packet } from './packet.ts';
import { Peripheral, type CommandMessage, type PeripheralOptions } from './peripheral.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { memoryLinkPair } from './testing/memory-link.ts';
import { SCBK_D } from './secure-channel.ts';
import { createRng } from './testing/prng.ts';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const OTHER_KEY = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
const text = (s: string) => new TextEncoder().encode(s);

/** A link whose writes pass through `filter` first, to watch or alter packets in transit. */
function filtered(link: ByteLink, filter: (bytes: Uint8Array) => Uint8Array): ByteLink {
  return { write: (bytes) => link.write(filter(bytes)), onData: (cb) => link.onData(cb) };
}

function decoded(bytes: Uint8Array): Packet | null {
  const r = decodePacket(bytes);
  return r.ok ? r.value : null;
}

/** Flips a bit in the first data byte and fixes the CRC: only the MAC can tell. */
function tamper(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const p = decoded(bytes)!;
  const som = p.mark ? 1 : 0;
  const at = som + (p.raw.length - p.data.length - 6);
  out[at] = out[at]! ^ 0x01;
  const crc = crc16(out, som, out.length - 2);
  out[out.length - 2] = crc & 0xff;
  out[out.length - 1] = crc >> 8;
  return out;
}

interface Options {
  cp?: Partial<ControlPanelOptions>;
  pd?: Partial<PeripheralOptions>;
  cpFilter?: (bytes: Uint8Array) => Uint8Array;
  pdFilter?: (bytes: Uint8Array) => Uint8Array;
}

function setup(options: Options = {}) {
  const clock = new FakeClock();
  const rng = createRng(3);
  const [cpEnd, pdEnd] = memoryLinkPair(clock, rng);
  const wire: Packet[] = [];
  const cpLink = filtered(cpEnd, (bytes) => {
    const p = decoded(bytes);
    if (p) wire.push(p);
    return options.cpFilter ? options.cpFilter(bytes) : bytes;
  });
  const replies: Packet[] = [];
  const pdLink = filtered(pdEnd, (bytes) => {
    const p = decoded(bytes);
    if (p) replies.push(p);
    return options.pdFilter ? options.pdFilter(bytes) : bytes;
  });
  const handled: CommandMessage[] = [];
  const pd = new Peripheral({
    link: pdLink,
    address: 5,
    clock,
    random: rng.bytes,
    handler: (c) => {
      handled.push(c);
      if (c.code === Command.ID) return { code: Reply.PDID, data: text('IQ-0042') };
      if (c.code === Command.MFG) return { code: Reply.MFGREP, data: c.data };
      return { code: Reply.ACK };
    },
    ...options.pd,
  });
  const makeCp = (cpOptions: Partial<ControlPanelOptions>) =>
    new ControlPanel({ link: cpLink, address: 5, clock, random: rng.bytes, ...cpOptions });
  const cp = makeCp(options.cp ?? {});
  pd.start();
  return {
    clock,
    pd,
    cp,
    wire,
    replies,
    handled,
    makeCp,
    async connect(panel = cp) {
      panel.start();
      await clock.runUntil(() => panel.state === 'online' || panel.state === 'offline');
    },
  };
}

describe('secure channel between ControlPanel and Peripheral', () => {
  it('install mode: handshakes with SCBK-D, then MACs every command and encrypts its data', async () => {
    const t = setup({ cp: { secureChannel: { installMode: true } } });
    await t.connect();
    expect(t.cp.state).toBe('online');
    expect(t.cp.secure && t.pd.secureChannelActive).toBe(true);
    expect(t.wire.map((p) => [p.code, p.securityBlock?.type ?? null, p.securityBlock?.data[0] ?? null])).toEqual([
      [Command.ID, null, null],
      [Command.CHLNG, Scs.SCS_11, 0x00],
      [Command.SCRYPT, Scs.SCS_13, 0x00],
    ]);
    const reply = await t.clock.run(t.cp.send(Command.MFG, text('open door 3')));
    expect(reply).toEqual({ code: Reply.MFGREP, data: text('open door 3') });
    const sent = t.wire.at(-1)!;
    expect(sent.securityBlock?.type).toBe(Scs.SCS_17);
    expect(sent.mac).toHaveLength(4);
    expect(Buffer.from(sent.data).includes(Buffer.from('open door'))).toBe(false);
    expect(t.handled.at(-1)).toMatchObject({ code: Command.MFG, secure: true });
  });

  it('handshakes with the provisioned key; MAC-only leaves the data readable but still MACed', async () => {
    const clientUid = text('IQ000042');
    const t = setup({ pd: { scbk: KEY, clientUid }, cp: { secureChannel: { scbk: KEY, encrypt: false } } });
    await t.connect();
    expect(t.cp.secure).toBe(true);
    const ccrypt = t.replies.find((p) => p.code === Reply.CCRYPT)!;
    expect(ccrypt.securityBlock).toMatchObject({ type: Scs.SCS_12, data: Uint8Array.of(0x01) });
    expect(ccrypt.data.subarray(0, 8)).toEqual(clientUid);
    expect(t.replies.find((p) => p.code === Reply.RMAC_I)?.securityBlock).toMatchObject({ type: Scs.SCS_14, data: Uint8Array.of(0x01) });
    expect(t.cp.identity).toEqual(text('IQ-0042'));
    expect(t.wire.find((p) => p.code === Command.CHLNG)?.securityBlock?.data[0]).toBe(0x01);
    await t.clock.run(t.cp.send(Command.MFG, text('status')));
    const sent = t.wire.at(-1)!;
    expect(sent.securityBlock?.type).toBe(Scs.SCS_15);
    expect(sent.data).toEqual(text('status'));
    expect(sent.mac).toHaveLength(4);
  });

  it("fails the handshake with a typed error saying the hub's key is wrong", async () => {
    const t = setup({ pd: { scbk: KEY }, cp: { secureChannel: { scbk: OTHER_KEY } } });
    await t.connect();
    expect(t.cp.state).toBe('offline');
    expect(t.cp.lastError).toMatchObject({ code: 'key_mismatch' });
    expect(t.cp.lastError?.message).toMatch(/the hub's secure-channel key is wrong/);
    expect(t.pd.secureChannelActive).toBe(false);
    const error = await t.clock.run(t.cp.send(Command.POLL)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OsdpError);
    expect(error).toMatchObject({ code: 'offline', cause: { code: 'key_mismatch' } });
    expect(t.wire.some((p) => p.code === Command.SCRYPT)).toBe(false);
  });

  it('tells a hub still in install mode from a hub with another key', async () => {
    const t = setup({ cp: { secureChannel: { scbk: KEY } } });
    await t.connect();
    expect(t.cp.lastError).toMatchObject({ code: 'install_mode' });
    expect(t.cp.lastError?.message).toMatch(/still in install mode/);
  });

  it('a provisioned hub refuses the default key', async () => {
    const t = setup({ pd: { scbk: KEY }, cp: { secureChannel: { installMode: true } } });
    await t.connect();
    expect(t.cp.lastError).toMatchObject({ code: 'install_mode_refused' });
    expect(t.pd.secureChannelActive).toBe(false);
  });

  it('KEYSET moves the PD out of install mode: afterwards only the new key opens a session', async () => {
    const stored: Uint8Array[] = [];
    const t = setup({ pd: { onKeyChange: (k) => void stored.push(k) }, cp: { secureChannel: { installMode: true } } });
    await t.connect();
    expect(t.pd.installMode).toBe(true);
    await t.clock.run(t.cp.setKey(KEY));
    expect(stored).toEqual([KEY]);
    expect(t.pd.installMode).toBe(false);
    expect(t.cp.secure && t.pd.secureChannelActive).toBe(true);
    const keyset = t.wire.find((p) => p.code === Command.KEYSET)!;
    expect(keyset.securityBlock?.type).toBe(Scs.SCS_17);
    expect(Buffer.from(keyset.data).includes(Buffer.from(KEY))).toBe(false);
    // The handshake after KEYSET already used the new key.
    expect(t.wire.filter((p) => p.code === Command.CHLNG).map((p) => p.securityBlock?.data[0])).toEqual([0x00, 0x01]);
    expect((await t.clock.run(t.cp.send(Command.MFG, text('hi')))).data).toEqual(text('hi'));
    t.cp.stop();

    const withDefault = t.makeCp({ secureChannel: { installMode: true } });
    await t.connect(withDefault);
    expect(withDefault.lastError).toMatchObject({ code: 'install_mode_refused' });
    withDefault.stop();
    const withNewKey = t.makeCp({ secureChannel: { scbk: KEY } });
    await t.connect(withNewKey);
    expect(withNewKey.state).toBe('online');
    expect(withNewKey.secure).toBe(true);
  });

  it('a PD that refuses the new key keeps the old one', async () => {
    const t = setup({
      pd: {
        onKeyChange: () => {
          throw new Error('flash write failed');
        },
      },
      cp: { secureChannel: { installMode: true } },
    });
    await t.connect();
    const error = await t.clock.run(t.cp.setKey(KEY)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'protocol' });
    expect((error as Error).message).toMatch(/answered KEYSET \(0x75\) with NAK \(0x41\)/);
    expect(t.pd.installMode).toBe(true);
  });

  it('refuses setKey without a secure channel', async () => {
    const t = setup();
    await t.connect();
    const error = await t.clock.run(t.cp.setKey(KEY)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'secure_channel_refused' });
  });

  it('a tampered command is refused by the PD; the CP re-establishes the session and the command runs once', async () => {
    let tampered = 0;
    const t = setup({
      pd: { scbk: KEY },
      cp: { secureChannel: { scbk: KEY } },
      cpFilter: (bytes) => (decoded(bytes)?.code === Command.MFG && tampered++ === 0 ? tamper(bytes) : bytes),
    });
    await t.connect();
    expect(await t.clock.run(t.cp.send(Command.MFG, text('unlock')))).toEqual({ code: Reply.MFGREP, data: text('unlock') });
    expect(tampered).toBe(2);
    expect(t.pd.stats.securityNaks).toBe(1);
    expect(t.cp.stats.restarts).toBe(1);
    expect(t.handled.filter((c) => c.code === Command.MFG)).toHaveLength(1);
  });

  it('a tampered reply is ignored by the CP, which resends and gets the genuine cached reply', async () => {
    let tampered = 0;
    const t = setup({
      pd: { scbk: KEY },
      cp: { secureChannel: { scbk: KEY } },
      pdFilter: (bytes) => (decoded(bytes)?.code === Reply.MFGREP && tampered++ === 0 ? tamper(bytes) : bytes),
    });
    await t.connect();
    expect(await t.clock.run(t.cp.send(Command.MFG, text('unlock')))).toEqual({ code: Reply.MFGREP, data: text('unlock') });
    expect(t.cp.stats.rejectedReplies).toBe(1);
    expect(t.cp.stats.retransmits).toBe(1);
    expect(t.pd.stats.replays).toBe(1);
    expect(t.handled.filter((c) => c.code === Command.MFG)).toHaveLength(1);
  });

  it('an idle session expires at the PD; the CP notices and re-establishes it', async () => {
    const t = setup({ pd: { scbk: KEY, secureSessionTimeoutMs: 8000 }, cp: { secureChannel: { scbk: KEY } } });
    await t.connect();
    await t.clock.advance(7000);
    await t.clock.run(t.cp.send(Command.POLL));
    expect(t.cp.stats.restarts).toBe(0);
    await t.clock.advance(8001);
    expect((await t.clock.run(t.cp.send(Command.POLL))).code).toBe(Reply.ACK);
    expect(t.cp.stats.restarts).toBe(1);
    expect(t.pd.stats.securityNaks).toBe(1);
  });

  it('SQN 0 ends the PD side of the session', async () => {
    const t = setup({ pd: { scbk: KEY }, cp: { secureChannel: { scbk: KEY } } });
    await t.connect();
    expect(t.pd.secureChannelActive).toBe(true);
    t.cp.stop();
    const plain = t.makeCp({});
    await t.connect(plain);
    expect(t.wire.at(-1)).toMatchObject({ code: Command.ID, sqn: 0 });
    expect(t.pd.secureChannelActive).toBe(false);
  });

  it('an enforced-secure PD refuses a plaintext CP with a NAK that says so', async () => {
    const t = setup({ pd: { scbk: KEY, enforceSecure: true } });
    await t.connect();
    const error = await t.clock.run(t.cp.send(Command.POLL)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'nak', nakReason: NakReason.SC_COND });
    expect((error as Error).message).toMatch(/the hub requires a secure channel/);
    expect(t.handled.map((c) => c.code)).toEqual([Command.ID]);
  });
});

describe('a key chosen once the PD has named itself (chooseKey)', () => {
  const UID = text('HUB-0001');
  function chooser(pick: (r: KeyRequest) => readonly Uint8Array[] | Promise<readonly Uint8Array[]>) {
    const requests: KeyRequest[] = [];
    const accepted: Array<{ key: Uint8Array; request: KeyRequest }> = [];
    return {
      requests,
      accepted,
      chooseKey: {
        candidates: (r: KeyRequest) => {
          requests.push(r);
          return pick(r);
        },
        accepted: (key: Uint8Array, request: KeyRequest) => void accepted.push({ key, request }),
      },
    };
  }

  it('asks for the provisioned key, learns the cUID, and tries the candidates locally: one handshake, no extra round trip', async () => {
    const c = chooser(() => [OTHER_KEY, KEY]);
    const t = setup({ pd: { scbk: KEY, clientUid: UID, enforceSecure: true }, cp: { secureChannel: { chooseKey: c.chooseKey } } });
    await t.connect();
    expect(t.cp.state).toBe('online');
    expect(t.cp.secure && t.pd.secureChannelActive).toBe(true);
    expect(c.requests).toEqual([{ clientUid: UID, installMode: false }]);
    expect(c.accepted).toEqual([{ key: KEY, request: { clientUid: UID, installMode: false } }]);
    expect(t.wire.map((p) => [p.code, p.securityBlock?.data[0] ?? null])).toEqual([
      [Command.ID, null],
      [Command.CHLNG, 0x01],
      [Command.SCRYPT, 0x01],
    ]);
    expect((await t.clock.run(t.cp.send(Command.MFG, text('hi')))).data).toEqual(text('hi'));
  });

  it('asks again at every new handshake (a session that expired), and accepts an answer given later (a Promise)', async () => {
    const c = chooser(async () => {
      await Promise.resolve();
      return [KEY];
    });
    const t = setup({ pd: { scbk: KEY, clientUid: UID }, cp: { secureChannel: { chooseKey: c.chooseKey } } });
    await t.connect();
    await t.clock.advance(9000);
    expect((await t.clock.run(t.cp.send(Command.POLL))).code).toBe(Reply.ACK);
    expect(c.requests).toHaveLength(2);
    expect(c.accepted).toHaveLength(2);
  });

  it('a PD in install mode is accepted only when SCBK-D is among the candidates; KEYSET then fixes the key', async () => {
    const c = chooser((r) => (r.installMode ? [SCBK_D] : [KEY]));
    const t = setup({ pd: { clientUid: UID }, cp: { secureChannel: { chooseKey: c.chooseKey } } });
    await t.connect();
    expect(t.cp.state).toBe('online');
    expect(c.requests).toEqual([{ clientUid: UID, installMode: true }]);
    expect(c.accepted[0]!.key).toEqual(SCBK_D);
    // Asked for the SCBK, the PD said it used SCBK-D; the SCRYPT names the key actually used.
    expect(t.wire.map((p) => [p.code, p.securityBlock?.data[0] ?? null])).toEqual([
      [Command.ID, null],
      [Command.CHLNG, 0x01],
      [Command.SCRYPT, 0x00],
    ]);
    await t.clock.run(t.cp.setKey(KEY));
    expect(t.pd.installMode).toBe(false);
    expect(t.cp.secure && t.pd.secureChannelActive).toBe(true);
    // The handshake right after KEYSET used the new key without asking.
    expect(c.requests).toHaveLength(1);
    expect(t.wire.filter((p) => p.code === Command.CHLNG)).toHaveLength(2);
  });

  it('refuses a PD in install mode when SCBK-D is not offered, before proving anything to it', async () => {
    const c = chooser(() => [KEY]);
    const t = setup({ pd: { clientUid: UID }, cp: { secureChannel: { chooseKey: c.chooseKey } } });
    await t.connect();
    expect(t.cp.lastError).toMatchObject({ code: 'install_mode' });
    expect(t.cp.lastError?.message).toMatch(/in install mode .* install mode was not accepted for it/);
    expect(t.wire.some((p) => p.code === Command.SCRYPT)).toBe(false);
    expect(c.accepted).toEqual([]);
  });

  it('key_mismatch when none of the keys matches, or when there is none to try', async () => {
    const wrong = chooser(() => [OTHER_KEY, SCBK_D]);
    const t = setup({ pd: { scbk: KEY, clientUid: UID }, cp: { secureChannel: { chooseKey: wrong.chooseKey } } });
    await t.connect();
    expect(t.cp.lastError).toMatchObject({ code: 'key_mismatch' });
    expect(t.cp.lastError?.message).toMatch(/matches none of the 2 key\(s\) we hold for it/);
    expect(t.wire.some((p) => p.code === Command.SCRYPT)).toBe(false);
    t.cp.stop();

    const none = chooser(() => []);
    const cp = t.makeCp({ secureChannel: { chooseKey: none.chooseKey } });
    await t.connect(cp);
    expect(cp.lastError).toMatchObject({ code: 'key_mismatch' });
    expect(cp.lastError?.message).toMatch(/we hold no secure-channel key for this hub, and it is not in install mode/);
  });
});
