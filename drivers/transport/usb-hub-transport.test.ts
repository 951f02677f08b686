import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { TransportClosedError } from './byte-stream.ts';
import { FakeUsbBus, FakeUsbDevice, hubInterface, type FakeErrorStyle } from './fake-webusb.ts';
import { collect, concat, pattern, tick } from './test-helpers.ts';
import { hubUdevRule } from './usb-diagnostics.ts';
import { loadUsbModule } from './usb-module.ts';
import { openFirstUsbHub, openUsbHub, type UsbHubTransport, type UsbHubTransportOptions } from './usb-hub-transport.ts';
import { UsbOpenError } from './usb-open-error.ts';

const styles: FakeErrorStyle[] = ['webusb', 'node-usb-3'];
const open: UsbHubTransport[] = [];

async function hub(device: FakeUsbDevice, options: UsbHubTransportOptions = {}): Promise<UsbHubTransport> {
  const t = await openUsbHub(device, { readTimeoutMs: 50, ...options });
  open.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

describe('opening a hub', () => {
  it('selects configuration 1, detaches the kernel driver, claims the vendor interface and finds its bulk endpoints', async () => {
    const device = new FakeUsbDevice({
      configuredAtPlug: false,
      interfaces: [
        // A CDC-like interface first, so "the first interface" would be the wrong answer.
        { interfaceNumber: 0, interfaceClass: 0x02, endpoints: [{ endpointNumber: 3, direction: 'in', type: 'interrupt', packetSize: 8 }] },
        { ...hubInterface(64, 1, 5, 6), kernelDriver: true },
      ],
    });
    const t = await hub(device);
    expect(device.log).toEqual(['open', 'selectConfiguration(1)', 'detachKernelDriver(1)', 'claimInterface(1)']);
    expect(t.endpoints).toMatchObject({ interfaceNumber: 1, in: { endpointNumber: 5 }, out: { endpointNumber: 6 } });
    expect(t.describe()).toMatch(/^usb 1209:000c serial FAKE-0001 "Fake IQ hub" \(bus 1 address \d+\)$/);

    await t.close();
    // The driver we took the interface from gets it back.
    expect(device.log.slice(4)).toEqual(['releaseInterface(1)', 'attachKernelDriver(1)', 'close']);
    expect(device.hasKernelDriver(1)).toBe(true);
  });

  it('leaves an active configuration 1 alone and detaches nothing when no driver is bound', async () => {
    const device = new FakeUsbDevice();
    await hub(device);
    expect(device.log).toEqual(['open', 'claimInterface(0)']);
  });

  it('works where the API has no kernel-driver calls (WebUSB, Windows, macOS)', async () => {
    const device = new FakeUsbDevice({ kernelDriverApi: false });
    const t = await hub(device);
    expect(device.detachKernelDriver).toBeUndefined();
    expect(t.endpoints.interfaceNumber).toBe(0);
  });

  it('refuses a device without a vendor interface with bulk endpoints, and leaves it closed', async () => {
    const device = new FakeUsbDevice({
      interfaces: [{ interfaceNumber: 0, interfaceClass: 0xff, endpoints: [{ endpointNumber: 1, direction: 'in', type: 'interrupt', packetSize: 8 }] }],
    });
    const err = await openUsbHub(device).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsbOpenError);
    expect((err as UsbOpenError).code).toBe('no_interface');
    expect((err as Error).message).toMatch(/no interface of class 0xff with a bulk IN and a bulk OUT endpoint \(found: interface 0 class 0xff\)/);
    expect(device.opened).toBe(false);
  });

  it.each(styles)('explains a permission failure with the udev rule (%s)', async (errorStyle) => {
    const device = new FakeUsbDevice({ errorStyle });
    device.failNext(
      'open',
      errorStyle === 'webusb' ? new DOMException('Access denied.', 'SecurityError') : new Error('open error: Permission denied (os error 13)'),
    );
    const err = (await openUsbHub(device, { permissionGraceMs: 0 }).catch((e: unknown) => e)) as UsbOpenError;
    expect(err.code).toBe('no_permission');
    expect(err.message).toContain(hubUdevRule());
    expect(err.message).toContain('/etc/udev/rules.d/70-gatehouse.rules');
  });

  it('right after a hotplug, retries an open refused for permission until udev has caught up', async () => {
    const device = new FakeUsbDevice({ errorStyle: 'node-usb-3' });
    device.failNext('open', new Error('open error: Permission denied (os error 13)'));
    device.failNext('open', new Error('open error: Permission denied (os error 13)'));
    await hub(device, { permissionGraceMs: 1000 });
    expect(device.opened).toBe(true);
    const late = new FakeUsbDevice({ errorStyle: 'node-usb-3' });
    for (let i = 0; i < 10; i++) late.failNext('open', new Error('open error: Permission denied (os error 13)'));
    const started = Date.now();
    await expect(openUsbHub(late, { permissionGraceMs: 250 })).rejects.toMatchObject({ code: 'no_permission' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('says the interface is busy when a driver cannot be detached, and gives back what it took', async () => {
    const device = new FakeUsbDevice({ interfaces: [{ ...hubInterface(), kernelDriver: true }] });
    device.failNext('detachKernelDriver', new Error('detachKernelDriver error: failed to detach kernel driver'));
    const err = (await openUsbHub(device).catch((e: unknown) => e)) as UsbOpenError;
    expect(err.code).toBe('busy');
    expect(err.message).toMatch(/Device or resource busy.*detaching the kernel driver failed before: .*failed to detach/);
    expect(device.opened).toBe(false);
  });

  it('openFirstUsbHub finds the hub by VID:PID among other devices, and says so when there is none', async () => {
    const other = new FakeUsbDevice({ vendorId: 0x072f, productId: 0x2200 });
    const theHub = new FakeUsbDevice({ serialNumber: 'HUB-7' });
    const t = await openFirstUsbHub(new FakeUsbBus([other, theHub]));
    open.push(t);
    expect(t.device).toBe(theHub);
    const custom = new FakeUsbDevice({ vendorId: 0x1234, productId: 0x5678 });
    const t2 = await openFirstUsbHub(new FakeUsbBus([custom]), { ids: { vendorId: 0x1234, productId: 0x5678 } });
    open.push(t2);
    expect(t2.device).toBe(custom);
    await expect(openFirstUsbHub(new FakeUsbBus([other]))).rejects.toMatchObject({ code: 'not_found', message: 'No IQ hub (USB 1209:000c) is plugged in.' });
  });

  it('openFirstUsbHub with the real usb module on this machine fails with a plain message, not a crash', async () => {
    const result = await openFirstUsbHub(await loadUsbModule()).then(
      (t) => (open.push(t), 'opened'),
      (e: unknown) => e,
    );
    const err = result as UsbOpenError;
    if (existsSync('/sys/bus/usb')) {
      // USB exists: a hub opened, or none is there, or no permission — anything but "no USB".
      expect(result === 'opened' || err.code !== 'no_usb_subsystem').toBe(true);
    } else {
      expect(result).toBeInstanceOf(UsbOpenError);
      expect(err.code).toBe('no_usb_subsystem');
      expect(err.message).toMatch(/^USB is not available on this computer/);
      expect(err.message).toContain(hubUdevRule());
    }
  });
});

describe('byte stream over bulk endpoints', () => {
  it.each(styles)('echoes byte streams of many sizes intact and in order (property, %s)', async (errorStyle) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(8, 64, 512),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5000 }),
        async (sizes, packetSize, readPackets, maxTransferBytes) => {
          const device = new FakeUsbDevice({ packetSize, errorStyle });
          device.onHostWrite((packet) => device.sendToHost(packet));
          const t = await openUsbHub(device, { readPackets, maxTransferBytes, readTimeoutMs: 200 });
          try {
            const got = collect(t);
            const writes = sizes.map((n, i) => pattern(n, i));
            // Not awaited one by one: writes issued together must still go out in call order.
            await Promise.all(writes.map((w) => t.write(w)));
            const expected = concat(writes);
            expect(await got.waitForBytes(expected.length)).toEqual(expected);
            await tick();
            expect(got.bytes().length).toBe(expected.length);
            const limit = Math.max(packetSize, Math.floor(maxTransferBytes / packetSize) * packetSize);
            expect(Math.max(0, ...device.outTransferSizes)).toBeLessThanOrEqual(limit);
            expect(device.inTransferRequests.every((n) => n === packetSize * readPackets)).toBe(true);
          } finally {
            await t.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('splits writes into transfers of whole packets, and the device sees packets of at most wMaxPacketSize', async () => {
    const device = new FakeUsbDevice({ packetSize: 64 });
    const packets: number[] = [];
    device.onHostWrite((p) => packets.push(p.length));
    const t = await hub(device, { maxTransferBytes: 300 });
    await t.write(pattern(1000));
    // 300 rounds down to 256 (4 packets): 256 + 256 + 256 + 232.
    expect(device.outTransferSizes).toEqual([256, 256, 256, 232]);
    expect(packets.every((n) => n <= 64)).toBe(true);
    expect(packets.reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it('reassembles what the device sends in arbitrary pieces, across packet boundaries', async () => {
    const device = new FakeUsbDevice({ packetSize: 64 });
    const t = await hub(device);
    const got = collect(t);
    const data = pattern(5000, 3);
    let off = 0;
    for (const n of [1, 63, 64, 65, 127, 128, 129, 512, 1000, 3000]) {
      device.sendToHost(data.subarray(off, off + n), { zlp: n % 2 === 0 });
      off += n;
      if (off >= data.length) break;
    }
    device.sendToHost(data.subarray(off));
    expect(await got.waitForBytes(data.length)).toEqual(data);
    // One packet per transfer: every IN transfer asked for exactly wMaxPacketSize.
    expect(new Set(device.inTransferRequests)).toEqual(new Set([64]));
  });

  it('delivers bytes that arrive before anyone listens, in order', async () => {
    const device = new FakeUsbDevice();
    device.onHostWrite(() => {});
    const t = await hub(device);
    device.sendToHost(pattern(100));
    await tick(10);
    const got = collect(t);
    device.sendToHost(pattern(50, 1));
    expect(await got.waitForBytes(150)).toEqual(concat([pattern(100), pattern(50, 1)]));
  });

  it('keeps reading across usb@3 transfer timeouts without losing bytes', async () => {
    const device = new FakeUsbDevice({ errorStyle: 'node-usb-3' });
    const t = await hub(device, { readTimeoutMs: 5 });
    const got = collect(t);
    await tick(60); // a dozen "transferIn error: Cancelled" in a row
    expect(t.closed).toBe(false);
    device.sendToHost(pattern(700));
    expect(await got.waitForBytes(700)).toEqual(pattern(700));
  });
});

describe('unplug', () => {
  it.each(styles)('mid-write: the write rejects, onClose fires once, later writes reject clearly (%s)', async (errorStyle) => {
    const bus = new FakeUsbBus();
    const device = new FakeUsbDevice({ errorStyle });
    bus.plug(device);
    const t = await hub(device, { events: bus, writeTimeoutMs: 10_000 });
    const got = collect(t);
    device.holdHostWrites(); // the device NAKs: the transfer is in flight when the cable goes
    const pending = t.write(pattern(10_000));
    await tick(5);
    expect(device.pendingTransfers.out).toBe(1);
    device.unplug();

    await expect(pending).rejects.toBeInstanceOf(TransportClosedError);
    const reason = await got.waitForClose();
    expect(reason.kind).toBe('unplugged');
    expect(reason.message).toMatch(/unplugged/);
    const later = await t.write(new Uint8Array([1])).catch((e: unknown) => e);
    expect(later).toBeInstanceOf(TransportClosedError);
    expect((later as Error).message).toBe(`${t.describe()}: ${reason.message}`);
    await t.close();
    await tick(10); // the bus's 'disconnect' event arrives after the transfer errors
    expect(got.closes).toHaveLength(1);
    expect(t.closed).toBe(true);
    expect(bus.listenerCount).toBe(0);
  });

  it.each(styles)('while idle: the pending read fails and the stream closes as unplugged (%s)', async (errorStyle) => {
    const device = new FakeUsbDevice({ errorStyle });
    const t = await hub(device, { readTimeoutMs: 10_000 });
    const got = collect(t);
    await tick(5);
    device.unplug();
    expect((await got.waitForClose()).kind).toBe('unplugged');
    expect(got.closes).toHaveLength(1);
  });

  it('a disconnect event alone closes the stream (a stack whose transfers hang on unplug)', async () => {
    const bus = new FakeUsbBus();
    const device = new FakeUsbDevice();
    bus.plug(device);
    const t = await hub(device, { events: bus });
    const got = collect(t);
    // Another object for the same plug-in, as usb@3's disconnect event carries.
    const sameHandle = { ...device, handle: device.handle } as unknown as FakeUsbDevice;
    (bus as unknown as { _announce(type: string, d: FakeUsbDevice): void })._announce('disconnect', sameHandle);
    expect((await got.waitForClose()).kind).toBe('unplugged');
    expect(device.plugged).toBe(true);
  });

  it('after a replug the old stream stays closed and a new one works', async () => {
    const device = new FakeUsbDevice();
    device.onHostWrite((p) => device.sendToHost(p));
    const t1 = await hub(device);
    const got1 = collect(t1);
    device.unplug();
    await got1.waitForClose();
    device.replug();
    await expect(t1.write(new Uint8Array([1]))).rejects.toBeInstanceOf(TransportClosedError);
    const t2 = await hub(device);
    const got2 = collect(t2);
    await t2.write(pattern(300));
    expect(await got2.waitForBytes(300)).toEqual(pattern(300));
  });
});

describe('stall', () => {
  it.each(styles)('on IN: the halt is cleared once and reading goes on (%s)', async (errorStyle) => {
    const device = new FakeUsbDevice({ errorStyle });
    const t = await hub(device);
    const got = collect(t);
    device.sendToHost(pattern(10));
    await got.waitForBytes(10);
    device.stall('in');
    await tick(5);
    expect(device.isHalted('in')).toBe(false);
    device.sendToHost(pattern(90, 1));
    expect(await got.waitForBytes(100)).toEqual(concat([pattern(10), pattern(90, 1)]));
    expect(device.log.filter((l) => l.startsWith('clearHalt'))).toEqual(['clearHalt(in,1)']);
    expect(t.closed).toBe(false);
  });

  it.each(styles)('on OUT: cleared, the transfer retried once, no byte lost or doubled (%s)', async (errorStyle) => {
    const device = new FakeUsbDevice({ errorStyle });
    const received: Uint8Array[] = [];
    device.onHostWrite((p) => received.push(p));
    const t = await hub(device);
    device.stall('out');
    await t.write(pattern(200));
    expect(concat(received)).toEqual(pattern(200));
    expect(device.log.filter((l) => l.startsWith('clearHalt'))).toEqual(['clearHalt(out,2)']);
  });

  it('a hub that stalls again right after the clear is given up on: write rejects, stream closes with an error', async () => {
    const device = new FakeUsbDevice();
    const t = await hub(device);
    const got = collect(t);
    let clears = 0;
    const clearHalt = device.clearHalt.bind(device);
    device.clearHalt = async (dir, ep) => {
      await clearHalt(dir, ep);
      clears++;
      device.stall(dir, ep);
    };
    device.stall('out');
    await expect(t.write(pattern(10))).rejects.toBeInstanceOf(TransportClosedError);
    const reason = await got.waitForClose();
    expect(reason.kind).toBe('error');
    expect(reason.message).toMatch(/stalled its OUT endpoint again/);
    expect(clears).toBe(1);
  });
});

describe('closing and failing', () => {
  it('close() is idempotent, fires onClose once as local, and late onClose listeners still hear it', async () => {
    const device = new FakeUsbDevice();
    const t = await hub(device);
    const got = collect(t);
    await Promise.all([t.close(), t.close()]);
    await t.close();
    expect(got.closes).toEqual([{ kind: 'local', message: 'closed by Gatehouse' }]);
    const late = await new Promise((resolve) => t.onClose(resolve));
    expect(late).toMatchObject({ kind: 'local' });
    await expect(t.write(new Uint8Array([1]))).rejects.toThrow(/closed by Gatehouse/);
    expect(device.opened).toBe(false);
  });

  it('a hub that takes no bytes for writeTimeoutMs fails the write and closes the stream', async () => {
    const device = new FakeUsbDevice({ errorStyle: 'node-usb-3' });
    const t = await hub(device, { writeTimeoutMs: 30 });
    const got = collect(t);
    device.holdHostWrites();
    const err = await t.write(pattern(10)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportClosedError);
    expect((await got.waitForClose()).message).toMatch(/stopped taking data/);
  });

  it('a hub that NAKs forever under WebUSB (no transfer timeout) is caught by our own timer', async () => {
    const device = new FakeUsbDevice({ errorStyle: 'webusb' });
    const t = await hub(device, { writeTimeoutMs: 30 });
    device.holdHostWrites();
    await expect(t.write(pattern(10))).rejects.toThrow(/accepted no data for 30 ms/);
  });

  it('a throwing data listener neither stops the stream nor is swallowed', async () => {
    const device = new FakeUsbDevice();
    const t = await hub(device);
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown): void => {
      uncaught.push(e);
    };
    process.prependListener('uncaughtException', onUncaught);
    const listeners = process.listeners('uncaughtException').filter((l) => l !== onUncaught);
    for (const l of listeners) process.off('uncaughtException', l);
    try {
      t.onData(() => {
        throw new Error('listener bug');
      });
      const got = collect(t);
      device.sendToHost(pattern(5));
      await got.waitForBytes(5);
      await tick(5);
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of listeners) process.on('uncaughtException', l);
    }
    expect(uncaught.map((e) => (e as Error).message)).toEqual(['listener bug']);
    expect(t.closed).toBe(false);
  });
});
