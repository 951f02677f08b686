// The simulated ACR122U at the transfer level, driven with raw CCID bytes (the driver in
// drivers/ccid has its own tests against this simulator).
import { afterEach, describe, expect, it } from 'vitest';
import { decodeInterrupt, decodeReply, encodeCommand, type CcidCommand, type CcidReply } from '../ccid/messages.ts';
import { ACR122U_ENDPOINTS, ACR122U_SUCCESS_BERROR, Acr122uSimulator, SIMULATED_FIRMWARE, atrFor } from './acr122u.ts';
import { DesfireCard, MifareClassicCard, UltralightCard } from './cards.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (b) => parseInt(b, 16));
const sims: Acr122uSimulator[] = [];

async function openSim(o: ConstructorParameters<typeof Acr122uSimulator>[0] = {}): Promise<Acr122uSimulator> {
  const sim = new Acr122uSimulator({ slowStatusMs: 30, ...o });
  sims.push(sim);
  const d = sim.device;
  await d.open();
  await d.detachKernelDriver!(0);
  await d.claimInterface(0);
  return sim;
}

afterEach(() => {
  for (const s of sims.splice(0)) s.unplug();
});

let seq = 0;
async function send(sim: Acr122uSimulator, cmd: CcidCommand | Uint8Array): Promise<void> {
  const bytes = cmd instanceof Uint8Array ? cmd : encodeCommand(cmd);
  await sim.device.transferOut(ACR122U_ENDPOINTS.bulkOut, Uint8Array.from(bytes), 1000);
}
async function receive(sim: Acr122uSimulator): Promise<CcidReply> {
  const r = await sim.device.transferIn(ACR122U_ENDPOINTS.bulkIn, 271 + 64, 2000);
  return decodeReply(new Uint8Array(r.data!.buffer, r.data!.byteOffset, r.data!.byteLength));
}
async function xfr(sim: Acr122uSimulator, apdu: string | Uint8Array): Promise<{ reply: CcidReply; data: string }> {
  const s = seq++ & 0xff;
  await send(sim, { type: 'XfrBlock', slot: 0, seq: s, bwi: 0, levelParameter: 0, data: typeof apdu === 'string' ? hex(apdu) : apdu });
  const reply = await receive(sim);
  expect(reply.seq).toBe(s);
  const data = reply.type === 'SlotStatus' ? new Uint8Array(0) : reply.data;
  return { reply, data: Array.from(data, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ') };
}
async function powerOn(sim: Acr122uSimulator): Promise<CcidReply> {
  await send(sim, { type: 'IccPowerOn', slot: 0, seq: seq++ & 0xff, power: 'auto' });
  return receive(sim);
}
async function interrupt(sim: Acr122uSimulator): Promise<ReturnType<typeof decodeInterrupt>> {
  const r = await sim.device.transferIn(ACR122U_ENDPOINTS.interruptIn, 8, 1000);
  return decodeInterrupt(new Uint8Array(r.data!.buffer, r.data!.byteOffset, r.data!.byteLength));
}

describe('ACR122U simulator: USB identity', () => {
  it('looks like the reader: 072F:2200, class 0x0B, interrupt + bulk endpoints, pn533_usb bound', () => {
    const sim = new Acr122uSimulator();
    sims.push(sim);
    expect([sim.device.vendorId, sim.device.productId]).toEqual([0x072f, 0x2200]);
    const iface = sim.device.configuration!.interfaces[0]!;
    expect(iface.alternate.interfaceClass).toBe(0x0b);
    expect(iface.alternate.endpoints.map((e) => `${e.type}-${e.direction}`)).toEqual(['interrupt-in', 'bulk-out', 'bulk-in']);
    expect(sim.device.hasKernelDriver(0)).toBe(true);
  });
});

describe('ACR122U simulator: CCID', () => {
  it('answers GetSlotStatus slowly without a card, with the 0x81 quirk', async () => {
    const sim = await openSim({ slowStatusMs: 80 });
    const t0 = Date.now();
    await send(sim, { type: 'GetSlotStatus', slot: 0, seq: 9 });
    const r = await receive(sim);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
    expect(r).toEqual({ type: 'SlotStatus', slot: 0, seq: 9, status: { icc: 'absent', command: 'ok' }, error: ACR122U_SUCCESS_BERROR, clockStatus: 0 });
  });

  it('powers a 1K card on with the PC/SC part 3 ATR of the reference', async () => {
    const sim = await openSim();
    sim.place(new MifareClassicCard());
    const r = await powerOn(sim);
    expect(r.type === 'DataBlock' && r.data).toEqual(hex('3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A'));
    expect(r.status).toEqual({ icc: 'active', command: 'ok' });
    await send(sim, { type: 'IccPowerOff', slot: 0, seq: 0x33 });
    expect(await receive(sim)).toMatchObject({ type: 'SlotStatus', seq: 0x33, status: { icc: 'inactive', command: 'ok' } });
  });

  it('synthesises ATRs for 4K, Ultralight and DESFire', () => {
    expect(atrFor(new MifareClassicCard('classic4k')).subarray(13, 15)).toEqual(hex('00 02'));
    expect(atrFor(new UltralightCard()).subarray(13, 15)).toEqual(hex('00 03'));
    expect(atrFor(new DesfireCard())).toEqual(hex('3B 86 80 01 06 75 77 81 02 80 00'));
  });

  it('fails power-on without a card: bStatus 0x42, bError 0xFE', async () => {
    const sim = await openSim();
    const r = await powerOn(sim);
    expect(r).toMatchObject({ type: 'DataBlock', status: { icc: 'absent', command: 'failed' }, error: 0xfe });
  });

  it('refuses an invalid slot (bError 5) and an unknown command (bError 0)', async () => {
    const sim = await openSim();
    await send(sim, { type: 'GetSlotStatus', slot: 1, seq: 4 });
    expect(await receive(sim)).toMatchObject({ seq: 4, status: { command: 'failed' }, error: 0x05 });
    await send(sim, hex('6C 00 00 00 00 00 05 00 00 00'));
    expect(await receive(sim)).toMatchObject({ seq: 5, status: { command: 'failed' }, error: 0x00 });
  });

  it('reassembles a command split across packets', async () => {
    const sim = await openSim();
    sim.place(new MifareClassicCard());
    await powerOn(sim);
    const cmd = encodeCommand({ type: 'XfrBlock', slot: 0, seq: 77, bwi: 0, levelParameter: 0, data: hex(`FF D6 00 04 10 ${'AB '.repeat(16)}`) });
    await sim.device.transferOut(ACR122U_ENDPOINTS.bulkOut, cmd.slice(0, 7));
    await sim.device.transferOut(ACR122U_ENDPOINTS.bulkOut, cmd.slice(7));
    expect(await receive(sim)).toMatchObject({ seq: 77, data: hex('63 00') }); // not authenticated
  });

  it('notifies placement and removal on the interrupt pipe (50 03 / 50 02)', async () => {
    const sim = await openSim();
    sim.place(new UltralightCard());
    expect(await interrupt(sim)).toEqual({ type: 'NotifySlotChange', slots: [{ slot: 0, present: true, changed: true }] });
    sim.remove();
    expect(await interrupt(sim)).toEqual({ type: 'NotifySlotChange', slots: [{ slot: 0, present: false, changed: true }] });
  });
});

describe('ACR122U simulator: pseudo-APDUs', () => {
  it('runs the worked exchange: UID, load key, authenticate, update, read', async () => {
    const sim = await openSim();
    sim.place(new MifareClassicCard('classic1k', { uid: hex('DE AD BE EF') }));
    await powerOn(sim);
    expect((await xfr(sim, 'FF CA 00 00 00')).data).toBe('DE AD BE EF 90 00');
    expect((await xfr(sim, 'FF 82 00 00 06 FF FF FF FF FF FF')).data).toBe('90 00');
    expect((await xfr(sim, 'FF 86 00 00 05 01 00 04 60 00')).data).toBe('90 00');
    expect((await xfr(sim, `FF D6 00 04 10 ${'11 '.repeat(16)}`)).data).toBe('90 00');
    expect((await xfr(sim, 'FF B0 00 04 10')).data).toBe(`${'11 '.repeat(16)}90 00`);
    expect((await xfr(sim, 'FF B0 00 04 10')).reply.error).toBe(ACR122U_SUCCESS_BERROR);
  });

  it('Get UID: Le shorter (6C), longer (62 82), ATS only for ISO 14443-4 (6A 81)', async () => {
    const sim = await openSim();
    sim.place(new MifareClassicCard('classic1k', { uid: hex('01 02 03 04') }));
    await powerOn(sim);
    expect((await xfr(sim, 'FF CA 00 00 02')).data).toBe('6C 04');
    expect((await xfr(sim, 'FF CA 00 00 08')).data).toBe('01 02 03 04 62 82');
    expect((await xfr(sim, 'FF CA 00 00 04')).data).toBe('01 02 03 04 90 00');
    expect((await xfr(sim, 'FF CA 01 00 00')).data).toBe('6A 81');
    sim.place(new DesfireCard());
    await powerOn(sim);
    expect((await xfr(sim, 'FF CA 01 00 00')).data).toBe('07 06 75 77 81 02 80 90 00');
    expect((await xfr(sim, 'FF B0 00 04 10')).data).toBe('6A 81');
  });

  it('refuses a wrong key, an unloaded key slot and key B while it is readable (63 00)', async () => {
    const sim = await openSim();
    sim.place(new MifareClassicCard());
    await powerOn(sim);
    expect((await xfr(sim, 'FF 86 00 00 05 01 00 04 60 01')).data).toBe('63 00');
    expect((await xfr(sim, 'FF 82 00 01 06 00 00 00 00 00 00')).data).toBe('90 00');
    expect((await xfr(sim, 'FF 86 00 00 05 01 00 04 60 01')).data).toBe('63 00');
    expect((await xfr(sim, 'FF 82 00 00 06 FF FF FF FF FF FF')).data).toBe('90 00');
    expect((await xfr(sim, 'FF 86 00 00 05 01 00 04 61 00')).data).toBe('63 00');
    expect((await xfr(sim, 'FF 88 00 04 60 00')).data).toBe('90 00');
    expect((await xfr(sim, 'FF 82 00 02 06 FF FF FF FF FF FF')).data).toBe('63 00');
    expect((await xfr(sim, 'FF 82 00 00 05 FF FF FF FF FF')).data).toBe('67 00');
  });

  it('Ultralight: read 4 or 16 bytes, update a page, no authentication', async () => {
    const sim = await openSim();
    sim.place(new UltralightCard(hex('04 11 22 33 44 55 66')));
    await powerOn(sim);
    expect((await xfr(sim, 'FF CA 00 00 00')).data).toBe('04 11 22 33 44 55 66 90 00');
    expect((await xfr(sim, 'FF D6 00 05 04 CA FE BA BE')).data).toBe('90 00');
    expect((await xfr(sim, 'FF B0 00 05 04')).data).toBe('CA FE BA BE 90 00');
    expect((await xfr(sim, 'FF B0 00 04 10')).data.split(' ').length).toBe(18);
    expect((await xfr(sim, 'FF 86 00 00 05 01 00 04 60 00')).data).toBe('63 00');
  });

  it('LED and buzzer: answers 90 + LED state and records the pattern', async () => {
    const sim = await openSim();
    expect((await xfr(sim, 'FF 00 40 0E 04 05 05 02 01')).data).toBe('90 02');
    expect(sim.ledEvents).toEqual([{ p2: 0x0e, t1: 5, t2: 5, repeat: 2, buzzer: 1 }]);
    expect((await xfr(sim, 'FF 00 40 05 04 01 01 01 00')).data).toBe('90 03');
    expect((await xfr(sim, 'FF 00 40 05 03 01 01 01')).data).toBe('63 00');
  });

  it('firmware version: ASCII without a status word, card or not', async () => {
    const sim = await openSim();
    const { data } = await xfr(sim, 'FF 00 48 00 00');
    expect(String.fromCharCode(...data.split(' ').map((b) => parseInt(b, 16)))).toBe(SIMULATED_FIRMWARE);
  });

  it('card commands without a powered card fail with bError 0xFE; unknown INS and CLA are refused', async () => {
    const sim = await openSim();
    expect((await xfr(sim, 'FF CA 00 00 00')).reply).toMatchObject({ status: { icc: 'absent', command: 'failed' }, error: 0xfe });
    sim.place(new MifareClassicCard());
    expect((await xfr(sim, 'FF CA 00 00 00')).reply).toMatchObject({ status: { icc: 'inactive', command: 'failed' }, error: 0xfe });
    await powerOn(sim);
    expect((await xfr(sim, 'FF 42 00 00 00')).data).toBe('6A 81');
    expect((await xfr(sim, '00 A4 04 00 00')).data).toBe('6E 00');
  });
});

describe('ACR122U simulator: faults', () => {
  it('removes the card after N block operations', async () => {
    const sim = await openSim();
    sim.place(new MifareClassicCard());
    await interrupt(sim);
    await powerOn(sim);
    await xfr(sim, 'FF 82 00 00 06 FF FF FF FF FF FF');
    await xfr(sim, 'FF 86 00 00 05 01 00 04 60 00');
    sim.faults.removeCardAfterBlocks = 2;
    expect((await xfr(sim, 'FF B0 00 04 10')).data.endsWith('90 00')).toBe(true);
    expect((await xfr(sim, 'FF B0 00 05 10')).data.endsWith('90 00')).toBe(true);
    expect(await interrupt(sim)).toMatchObject({ slots: [{ present: false, changed: true }] });
    expect((await xfr(sim, 'FF B0 00 06 10')).reply).toMatchObject({ status: { icc: 'absent', command: 'failed' }, error: 0xfe });
  });

  it('a bad CRC from the card answers 63 00 and drops the authentication', async () => {
    const sim = await openSim();
    sim.place(new MifareClassicCard());
    await powerOn(sim);
    await xfr(sim, 'FF 82 00 00 06 FF FF FF FF FF FF');
    await xfr(sim, 'FF 86 00 00 05 01 00 04 60 00');
    sim.faults.badCardCrc = 1;
    expect((await xfr(sim, 'FF B0 00 04 10')).data).toBe('63 00');
    expect((await xfr(sim, 'FF B0 00 04 10')).data).toBe('63 00');
    expect((await xfr(sim, 'FF 86 00 00 05 01 00 04 60 00')).data).toBe('90 00');
  });

  it('sends a stale reply, time extensions, or nothing, on demand', async () => {
    const sim = await openSim();
    sim.place(new MifareClassicCard());
    await powerOn(sim);
    sim.faults.staleReply = true;
    await send(sim, { type: 'GetSlotStatus', slot: 0, seq: 200 });
    const stale = await receive(sim);
    expect(stale.seq).not.toBe(200);
    expect((await receive(sim)).seq).toBe(200);
    sim.faults.timeExtensions = 2;
    await send(sim, { type: 'GetSlotStatus', slot: 0, seq: 201 });
    expect(await receive(sim)).toMatchObject({ seq: 201, status: { command: 'time-extension' }, error: 1 });
    expect(await receive(sim)).toMatchObject({ seq: 201, status: { command: 'time-extension' } });
    expect(await receive(sim)).toMatchObject({ seq: 201, status: { command: 'ok' } });
    sim.faults.dropReplies = 1;
    await send(sim, { type: 'GetSlotStatus', slot: 0, seq: 202 });
    await send(sim, { type: 'GetSlotStatus', slot: 0, seq: 203 });
    expect((await receive(sim)).seq).toBe(203);
  });

  it('unplugged: transfers fail as on hardware', async () => {
    const sim = await openSim();
    sim.unplug();
    await expect(send(sim, { type: 'GetSlotStatus', slot: 0, seq: 1 })).rejects.toThrow(/Disconnected|disconnected/);
  });
});
