// The CCID reader and ACR122U commands against the simulated reader on the fake USB bus.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeUsbBus } from '../transport/fake-webusb.ts';
import { Acr122uSimulator, atrFor, SIMULATED_FIRMWARE } from '../encoder-sim/acr122u.ts';
import { DEFAULT_KEY, DesfireCard, MifareClassicCard, UltralightCard } from '../encoder-sim/cards.ts';
import { Acr122u, ApduError, describeStatusWord, parseAtr } from './acr122u.ts';
import { CcidError } from './messages.ts';
import { UsbOpenError } from '../transport/usb-open-error.ts';
import { openCcidReader, openFirstCcidReader, readerBusyMessage, type CcidReader, type SlotEvent } from './reader.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (b) => parseInt(b, 16));
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(o: ConstructorParameters<typeof Acr122uSimulator>[0] = {}, ro: Parameters<typeof openCcidReader>[1] = {}) {
  const sim = new Acr122uSimulator({ slowStatusMs: 40, ...o });
  const reader = await openCcidReader(sim.device, { timeoutMs: 150, slotStatusTimeoutMs: 400, ...ro });
  cleanup.push(() => sim.unplug(), () => reader.close());
  return { sim, reader, acr: new Acr122u(reader) };
}

async function caught<T>(p: Promise<T>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('did not fail');
}

describe('opening the reader', () => {
  it('detaches pn533_usb, claims the CCID interface and clears halts', async () => {
    const { sim } = await setup();
    expect(sim.device.log).toEqual(['open', 'detachKernelDriver(0)', 'claimInterface(0)', 'clearHalt(out,2)', 'clearHalt(in,2)']);
    expect(sim.device.hasKernelDriver(0)).toBe(false);
  });

  it('gives the kernel driver back on close', async () => {
    const sim = new Acr122uSimulator();
    const reader = await openCcidReader(sim.device);
    await reader.close();
    expect(sim.device.hasKernelDriver(0)).toBe(true);
    expect(sim.device.opened).toBe(false);
  });

  it('works where no kernel driver is bound', async () => {
    const { sim } = await setup({ kernelDriver: false });
    expect(sim.device.log).toContain('claimInterface(0)');
  });

  it('says pcscd holds the reader when the claim is busy, and how to free it', async () => {
    const sim = new Acr122uSimulator();
    sim.device.failNext('claimInterface', new Error('claimInterface error: Device or resource busy (os error 16)'));
    const e = await caught(openCcidReader(sim.device));
    expect(e).toBeInstanceOf(UsbOpenError);
    expect((e as UsbOpenError).code).toBe('busy');
    if (process.platform === 'linux') expect((e as Error).message).toMatch(/pcscd[\s\S]*systemctl stop pcscd/);
    expect(readerBusyMessage('(x)', 'busy', true)).toMatch(/pn533_usb/);
    expect(readerBusyMessage('(x)', 'busy', false)).toMatch(/PC\/SC applications/);
    expect(sim.device.opened).toBe(false);
  });

  it('reports "no USB here", no reader, and no permission clearly', async () => {
    const bus = new FakeUsbBus();
    bus.failEnumeration(new Error('getDevices error: /sys/bus/usb: No such file or directory'));
    const e1 = await caught(openFirstCcidReader(bus));
    expect((e1 as UsbOpenError).code).toBe('no_usb_subsystem');
    expect((e1 as Error).message).toMatch(/USB is not available[\s\S]*Cards cannot be encoded/);
    bus.failEnumeration(undefined);
    const e2 = await caught(openFirstCcidReader(bus));
    expect((e2 as UsbOpenError).message).toMatch(/No card encoder \(USB 072f:2200\)/);
    const sim = new Acr122uSimulator();
    bus.plug(sim.device);
    sim.device.failNext('open', new Error('open error: Permission denied (os error 13)'));
    const e3 = await caught(openFirstCcidReader(bus));
    expect((e3 as UsbOpenError).code).toBe('no_permission');
    const r = await openFirstCcidReader(bus);
    await r.close();
  });

  it('refuses a device without a CCID interface', async () => {
    const { FakeUsbDevice } = await import('../transport/fake-webusb.ts');
    const e = await caught(openCcidReader(new FakeUsbDevice()));
    expect((e as UsbOpenError).code).toBe('no_interface');
  });
});

describe('CCID exchange', () => {
  it('numbers commands and checks bSeq: a stale reply is dropped', async () => {
    const { sim, acr, reader } = await setup();
    sim.place(new MifareClassicCard());
    await acr.powerOn();
    sim.faults.staleReply = true;
    expect(await acr.getUid()).toEqual(hex('DE AD BE EF'));
    expect(reader.staleReplies).toBe(1);
    expect(sim.commands.map((c) => c.seq)).toEqual([0, 1]);
  });

  it('honours time-extension replies', async () => {
    const { sim, acr } = await setup();
    sim.place(new MifareClassicCard());
    await acr.powerOn();
    sim.faults.timeExtensions = 3;
    expect(await acr.getUid()).toEqual(hex('DE AD BE EF'));
  });

  it('gives up after too many time extensions', async () => {
    const { sim, acr } = await setup({}, { maxTimeExtensions: 2 });
    sim.place(new MifareClassicCard());
    await acr.powerOn();
    sim.faults.timeExtensions = 3;
    expect(((await caught(acr.getUid())) as CcidError).code).toBe('too_many_time_extensions');
  });

  it('resends a command that got no reply, with a new bSeq', async () => {
    const { sim, acr } = await setup();
    sim.place(new MifareClassicCard());
    await acr.powerOn();
    sim.faults.dropReplies = 1;
    expect(await acr.getUid()).toEqual(hex('DE AD BE EF'));
    expect(sim.commands.slice(-2).map((c) => c.seq)).toEqual([1, 2]);
  });

  it('WebUSB has no transfer timeout: the reader gives up waiting but keeps the pending transfer for the resend', async () => {
    const { sim, acr } = await setup({ errorStyle: 'webusb' });
    sim.place(new MifareClassicCard());
    await acr.powerOn();
    sim.faults.dropReplies = 1;
    expect(await acr.getUid()).toEqual(hex('DE AD BE EF'));
    expect(sim.device.pendingTransfers.in).toBeLessThanOrEqual(1);
    expect(await acr.firmwareVersion()).toBe(SIMULATED_FIRMWARE);
  });

  it('times out with a clear error when the reader stays silent', async () => {
    const { sim, acr } = await setup({}, { retries: 1 });
    sim.faults.dropReplies = 5;
    const e = (await caught(acr.firmwareVersion())) as CcidError;
    expect(e.code).toBe('timeout');
    expect(e.message).toMatch(/did not answer XfrBlock \(2 attempts/);
  });

  it('waits out the slow GetSlotStatus without a card', async () => {
    const { acr, sim } = await setup({ slowStatusMs: 250 });
    expect(await acr.cardPresent()).toBe(false);
    sim.place(new UltralightCard());
    expect(await acr.cardPresent()).toBe(true);
  });

  it('decodes a failed command: power-on without a card is bError 0xFE', async () => {
    const { acr } = await setup();
    const e = (await caught(acr.powerOn())) as CcidError;
    expect(e).toBeInstanceOf(CcidError);
    expect(e.code).toBe('command_failed');
    expect(e.slotError).toBe(0xfe);
    expect(e.message).toMatch(/no card/);
  });

  it('reports an unplugged reader', async () => {
    const { sim, acr } = await setup();
    sim.unplug();
    const e = (await caught(acr.firmwareVersion())) as CcidError;
    expect(e.code).toBe('transfer_failed');
    expect(e.message).toMatch(/unplugged/);
  });
});

describe('ACR122U commands', () => {
  it('identifies Classic 1K/4K, Ultralight and DESFire from the ATR', async () => {
    const { sim, acr } = await setup();
    for (const [card, type] of [
      [new MifareClassicCard('classic1k'), 'mifare-classic-1k'],
      [new MifareClassicCard('classic4k'), 'mifare-classic-4k'],
      [new UltralightCard(), 'mifare-ultralight'],
      [new DesfireCard(), 'mifare-desfire'],
    ] as const) {
      sim.place(card);
      expect((await acr.powerOn()).type).toBe(type);
      expect(await acr.getUid()).toEqual(card.uid);
    }
    expect(await acr.getAts()).toEqual(hex('07 06 75 77 81 02 80'));
  });

  it('identifies the card on the tray: type and UID (Ultralight/NTAG: UID only)', async () => {
    const { sim, acr } = await setup();
    sim.place(new UltralightCard(hex('04 A1 B2 C3 D4 E5 F6')));
    expect(await acr.identify()).toMatchObject({ type: 'mifare-ultralight', uid: hex('04 A1 B2 C3 D4 E5 F6') });
    await acr.powerOff();
    expect(((await caught(acr.getUid())) as CcidError).slotError).toBe(0xfe);
  });

  it('parses ATRs strictly', () => {
    expect(parseAtr(hex('3B 81 80 01 80 80')).type).toBe('mifare-desfire');
    expect(parseAtr(hex('3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 26 00 00 00 00 4D')).type).toBe('mifare-mini');
    expect(parseAtr(hex('3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 F0 04 00 00 00 00 9F')).type).toBe('unknown');
    expect(() => parseAtr(hex('3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6B'))).toThrow(/TCK/);
    expect(() => parseAtr(hex('3F 8F 80'))).toThrow(CcidError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 30 }), (b) => {
        try {
          parseAtr(b);
        } catch (e) {
          expect(e).toBeInstanceOf(CcidError);
        }
      }),
    );
    for (const card of [new MifareClassicCard(), new UltralightCard(), new DesfireCard()]) expect(parseAtr(atrFor(card)).atr).toEqual(atrFor(card));
  });

  it('loads keys, authenticates with key A or B, reads and updates blocks', async () => {
    const { sim, acr } = await setup();
    const card = new MifareClassicCard();
    sim.place(card);
    await acr.powerOn();
    await acr.loadKey(0, DEFAULT_KEY);
    await acr.authenticate(4, 'A', 0);
    const data = Uint8Array.from({ length: 16 }, (_, i) => i * 3);
    await acr.updateBinary(5, data);
    expect(await acr.readBinary(5)).toEqual(data);
    // New trailer: keys A=01..06, B=A0..A5, data 100 (B writes), trailer 011.
    const trailer = hex('01 02 03 04 05 06 78 77 88 69 A0 A1 A2 A3 A4 A5');
    await acr.updateBinary(7, trailer);
    await acr.loadKey(1, hex('A0 A1 A2 A3 A4 A5'));
    await acr.authenticate(4, 'B', 1);
    await acr.updateBinary(4, data);
    expect(card.raw(4)).toEqual(data);
  });

  it('turns status words into clear errors', async () => {
    const { sim, acr } = await setup();
    sim.place(new MifareClassicCard());
    await acr.powerOn();
    await acr.loadKey(0, hex('00 00 00 00 00 00'));
    const wrongKey = (await caught(acr.authenticate(4, 'A', 0))) as ApduError;
    expect(wrongKey).toBeInstanceOf(ApduError);
    expect([wrongKey.code, wrongKey.sw]).toEqual(['failed', 0x6300]);
    expect(wrongKey.message).toMatch(/Authenticate block 4 with key A failed.*wrong key/);
    expect(((await caught(acr.readBinary(4))) as ApduError).code).toBe('failed');
    sim.place(new DesfireCard());
    await acr.powerOn();
    expect(((await caught(acr.readBinary(4))) as ApduError).code).toBe('not_supported');
    expect(describeStatusWord(0x6c04, 'x')).toMatchObject({ code: 'wrong_le', message: expect.stringMatching(/4 bytes/) });
    expect(describeStatusWord(0x6282, 'x').code).toBe('end_of_data');
    expect(describeStatusWord(0x6700, 'x').code).toBe('wrong_length');
    expect(describeStatusWord(0x6e00, 'x').code).toBe('class_not_supported');
    expect(describeStatusWord(0x6985, 'x')).toMatchObject({ code: 'other', message: 'x failed with SW 6985' });
  });

  it('reads Ultralight pages', async () => {
    const { sim, acr } = await setup();
    sim.place(new UltralightCard(hex('04 11 22 33 44 55 66')));
    await acr.powerOn();
    expect((await acr.readBinary(0, 16)).subarray(0, 3)).toEqual(hex('04 11 22'));
    await acr.updateBinary(4, hex('01 02 03 04'));
    expect(await acr.readBinary(4, 4)).toEqual(hex('01 02 03 04'));
  });

  it('a bad card CRC or a card removed mid-way is an error, not wrong data', async () => {
    const { sim, acr } = await setup();
    sim.place(new MifareClassicCard());
    await acr.powerOn();
    await acr.loadKey(0, DEFAULT_KEY);
    await acr.authenticate(4, 'A', 0);
    sim.faults.badCardCrc = 1;
    expect(((await caught(acr.readBinary(4))) as ApduError).code).toBe('failed');
    await acr.authenticate(4, 'A', 0);
    sim.faults.removeCardAfterBlocks = 1;
    await acr.readBinary(4);
    await new Promise((r) => setImmediate(r));
    const e = (await caught(acr.readBinary(5))) as CcidError;
    expect([e.code, e.slotError]).toEqual(['command_failed', 0xfe]);
  });

  it('drives the LED and buzzer', async () => {
    const { sim, acr } = await setup();
    expect(await acr.led({ finalRed: false, finalGreen: true, t1Ms: 500, t2Ms: 500, repeat: 2, buzzer: 't1' })).toEqual({ red: false, green: true });
    expect(sim.ledEvents).toEqual([{ p2: 0x0e, t1: 5, t2: 5, repeat: 2, buzzer: 1 }]);
  });

  it('reads the firmware version without a card', async () => {
    const { acr } = await setup();
    expect(await acr.firmwareVersion()).toBe(SIMULATED_FIRMWARE);
  });
});

describe('slot change events', () => {
  it('reports card placed and removed from NotifySlotChange', async () => {
    const { sim, reader } = await setup({}, { interruptPollMs: 100 });
    const events: SlotEvent[] = [];
    const seen = (n: number): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => (events.length >= n ? resolve() : void setTimeout(check, 5));
        check();
      });
    const off = (reader as CcidReader).onSlotChange((e) => events.push(e));
    sim.place(new MifareClassicCard());
    await seen(1);
    sim.remove();
    await seen(2);
    off();
    expect(events).toEqual([{ type: 'card-placed' }, { type: 'card-removed' }]);
  });

  it('reports an unplug while watching as an error event', async () => {
    const { sim, reader } = await setup({}, { interruptPollMs: 100 });
    const events: SlotEvent[] = [];
    reader.onSlotChange((e) => events.push(e));
    await new Promise((r) => setTimeout(r, 10));
    sim.unplug();
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toMatchObject([{ type: 'error', error: { code: 'transfer_failed', message: expect.stringMatching(/unplugged/) } }]);
  });
});
