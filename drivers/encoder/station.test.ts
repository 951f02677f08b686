// Encoders coming and going on the (fake) USB bus, and what the station says when there are none.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Acr122uSimulator } from '../encoder-sim/acr122u.ts';
import { MifareClassicCard } from '../encoder-sim/cards.ts';
import { FakeUsbBus, FakeUsbDevice } from '../transport/fake-webusb.ts';
import { loadUsbModule } from '../transport/usb-module.ts';
import type { CardEncoder, EncoderChange } from './card-encoder.ts';
import { encoderIdOf, watchEncoders, type EncoderStation, type EncoderStationOptions } from './station.ts';
import { until } from '../../test/until.ts';

const READER = { timeoutMs: 100, slotStatusTimeoutMs: 200, interruptPollMs: 30 };
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function station(usb: Parameters<typeof watchEncoders>[0], o: EncoderStationOptions = {}) {
  const s = watchEncoders(usb, { reader: READER, retryMinMs: 10, retryMaxMs: 40, ...o });
  const attached: CardEncoder[] = [];
  s.onAttach((e) => attached.push(e));
  cleanup.push(() => s.close());
  return { s, attached };
}

function simulator(serialNumber?: string): Acr122uSimulator {
  const sim = new Acr122uSimulator({ slowStatusMs: 20, ...(serialNumber ? { serialNumber } : {}) });
  cleanup.push(() => sim.unplug());
  return sim;
}

const ids = (s: EncoderStation) => s.list().map((e) => e.id);

describe('watching encoders', () => {
  it('opens the encoders present at start and those plugged in later; an unplugged one says detached and leaves', async () => {
    const first = simulator();
    const hub = new FakeUsbDevice();
    const bus = new FakeUsbBus([first.device, hub]);
    const { s, attached } = station(bus);
    await s.ready;
    expect(ids(s)).toEqual([`usb:1-${first.device.address}`]);
    expect(s.list()[0]).toMatchObject({ name: 'ACR122U (USB 072F:2200)', firmware: 'ACR122U207', simulated: false });
    expect(hub.opened).toBe(false);

    const second = simulator();
    bus.plug(second.device);
    await until('the station to see it', () => attached.length === 2, 1000, 2);
    expect(attached[1]!.id).toBe(`usb:1-${second.device.address}`);

    const changes: EncoderChange[] = [];
    attached[0]!.onChange((c) => changes.push(c));
    first.unplug();
    await until('the station to see it', () => s.list().length === 1, 1000, 2);
    expect(changes).toEqual([{ type: 'detached' }]);
    expect(ids(s)).toEqual([attached[1]!.id]);

    // A replug is a new encoder (a new address), with the card that lies on it.
    first.place(new MifareClassicCard());
    first.replug();
    await until('the station to see it', () => attached.length === 3, 1000, 2);
    expect(attached[2]!.id).toBe(`usb:1-${first.device.address}`);
    expect(attached[2]!.id).not.toBe(attached[0]!.id);
    expect(attached[2]!.card()).toEqual({ uid: 'DEADBEEF', card_type: 'mifare_classic_1k' });
    expect(s.problem()).toBeNull();
  });

  it('on a simulated bus the id is "sim:" and the serial number, as encoderIdOf says', async () => {
    const sim = simulator('demo-7');
    const { s } = station(new FakeUsbBus([sim.device]), { simulated: true });
    await s.ready;
    expect(ids(s)).toEqual(['sim:demo-7']);
    expect(encoderIdOf(sim.device, true)).toBe('sim:demo-7');
    expect(s.list()[0]!.simulated).toBe(true);
  });

  it('close releases every encoder (each says detached) and stops listening to the bus', async () => {
    const sim = simulator();
    const bus = new FakeUsbBus([sim.device]);
    const { s } = station(bus);
    await s.ready;
    const changes: EncoderChange[] = [];
    s.list()[0]!.onChange((c) => changes.push(c));
    await s.close();
    expect(changes).toEqual([{ type: 'detached' }]);
    expect(s.list()).toEqual([]);
    expect(bus.listenerCount).toBe(0);
    expect(sim.device.hasKernelDriver(0)).toBe(true);
  });
});

describe('when there are none: problem()', () => {
  it('nothing plugged in is no problem', async () => {
    const { s } = station(new FakeUsbBus());
    await s.ready;
    expect(s.problem()).toBeNull();
  });

  it('pcscd holding the reader: says how to free it, tries again with backoff, and clears once it opens', async () => {
    const sim = simulator();
    const busy = () => new Error('claimInterface error: Device or resource busy (os error 16)');
    sim.device.failNext('claimInterface', busy());
    sim.device.failNext('claimInterface', busy());
    const lines: string[] = [];
    const { s, attached } = station(new FakeUsbBus([sim.device]), { log: (l) => lines.push(l) });
    await s.ready;
    expect(s.list()).toEqual([]);
    expect(s.problem()).toMatch(/in use by another program/);
    if (process.platform === 'linux') expect(s.problem()).toMatch(/pcscd[\s\S]*systemctl stop pcscd\.socket/);
    await until('the station to see it', () => attached.length === 1, 1000, 2);
    expect(s.problem()).toBeNull();
    // Two refusals with the same reason: logged once.
    expect(lines.filter((l) => /in use by another program/.test(l))).toHaveLength(1);
  });

  it('one encoder that works is enough: the other one being held elsewhere is not "why there are none"', async () => {
    const held = simulator();
    held.device.failNext('claimInterface', new Error('claimInterface error: Device or resource busy (os error 16)'));
    const { s } = station(new FakeUsbBus([held.device, simulator().device]), { retryMinMs: 10_000 });
    await s.ready;
    expect(s.list()).toHaveLength(1);
    expect(s.problem()).toBeNull();
  });

  it('no USB subsystem, and no permission to list USB devices, in plain words', async () => {
    const bus = new FakeUsbBus();
    bus.failEnumeration(new Error('getDevices error: /sys/bus/usb/devices/ not found (errno 2)'));
    const none = station(bus, { platform: 'linux' }).s;
    await none.ready;
    expect(none.problem()).toMatch(/^USB is not available on this computer[\s\S]*Cards cannot be encoded on this computer[\s\S]*ATTR\{idVendor\}=="072f", ATTR\{idProduct\}=="2200"/);

    const denied = new FakeUsbBus();
    denied.failEnumeration(new Error('getDevices error: Permission denied (os error 13)'));
    const refused = station(denied, { platform: 'linux' }).s;
    await refused.ready;
    expect(refused.problem()).toMatch(/^USB devices cannot be listed, so no card encoder can be found: Gatehouse has no permission[\s\S]*70-gatehouse\.rules/);
  });

  it("the USB package missing is a problem, not a crash", async () => {
    const { s } = station(Promise.reject(new Error("Cannot find module '@node-usb/usb-linux-x64-gnu'")));
    await s.ready;
    expect(s.problem()).toMatch(/USB support is not installed[\s\S]*usb-linux-x64-gnu/);
  });

  it('with the real usb package on this machine: no unhandled rejection, and the answer matches the machine', async () => {
    // usb@3 rejects inside addEventListener when /sys/bus/usb is missing; vitest fails the run on an
    // unhandled rejection, so this fails if the station ever subscribed before listing.
    const { s } = station(loadUsbModule());
    await s.ready;
    await new Promise((r) => setTimeout(r, 30));
    expect(s.list()).toEqual([]);
    if (existsSync('/sys/bus/usb')) expect(s.problem() ?? '').not.toMatch(/USB is not available/);
    else expect(s.problem()).toMatch(/^USB is not available on this computer: the system has no USB support \(\/sys\/bus\/usb is missing\)/);
  });
});
