// The fake device keeps a real device's rules, or the transport tests prove nothing. These pin the
// rules the hub simulator and the transports rely on.
import { describe, expect, it } from 'vitest';
import { FakeUsbBus, FakeUsbDevice } from './fake-webusb.ts';
import { pattern, tick } from './test-helpers.ts';

async function claimed(options: ConstructorParameters<typeof FakeUsbDevice>[0] = {}): Promise<FakeUsbDevice> {
  const d = new FakeUsbDevice(options);
  await d.open();
  await d.claimInterface(0);
  return d;
}

function bytesOf(view: DataView | undefined): number[] {
  return view ? [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)] : [];
}

describe('FakeUsbDevice', () => {
  it('refuses transfers before open and claim, as a device does', async () => {
    const d = new FakeUsbDevice();
    await expect(d.transferIn(1, 64)).rejects.toMatchObject({ name: 'InvalidStateError' });
    await d.open();
    await expect(d.transferOut(2, new Uint8Array(1))).rejects.toThrow(/not claimed/);
    await d.claimInterface(0);
    await expect(d.transferOut(1, new Uint8Array(1))).rejects.toMatchObject({ name: 'NotFoundError' }); // 1 is IN
  });

  it('an IN transfer ends at a short packet or when full; a full-packet send ends with a ZLP unless told not to', async () => {
    const d = await claimed({ packetSize: 8 });
    d.sendToHost(pattern(20));
    // 8 + 8 + 4 (short): one transfer of 64 gets all 20 bytes.
    expect(bytesOf((await d.transferIn(1, 64)).data)).toEqual([...pattern(20)]);
    d.sendToHost(pattern(16));
    expect(bytesOf((await d.transferIn(1, 64)).data)).toEqual([...pattern(16)]); // ended by the ZLP
    d.sendToHost(pattern(16), { zlp: false });
    let done = false;
    const t = d.transferIn(1, 64).then((r) => {
      done = true;
      return r;
    });
    await tick(5);
    expect(done).toBe(false); // no short packet yet: a real host keeps waiting
    d.sendToHost(pattern(3, 1));
    expect(bytesOf((await t).data)).toEqual([...pattern(16), ...pattern(3, 1)]);
  });

  it('babbles when a packet does not fit the transfer', async () => {
    const d = await claimed({ packetSize: 8 });
    d.sendToHost(pattern(8), { zlp: false });
    expect((await d.transferIn(1, 5)).status).toBe('babble');
  });

  it('a halted endpoint stays halted until the host clears it', async () => {
    const d = await claimed();
    d.stall('in');
    expect((await d.transferIn(1, 64)).status).toBe('stall');
    expect((await d.transferIn(1, 64)).status).toBe('stall');
    await d.clearHalt('in', 1);
    d.sendToHost(pattern(3));
    expect((await d.transferIn(1, 64)).status).toBe('ok');
  });

  it('node-usb-3 style: stall and unplug reject like usb@3; a timed-out transfer loses what it held', async () => {
    const d = await claimed({ errorStyle: 'node-usb-3', packetSize: 8 });
    d.stall('out');
    await expect(d.transferOut(2, new Uint8Array(1))).rejects.toThrow('transferOut error: Stall');
    d.sendToHost(pattern(8), { zlp: false });
    await expect(d.transferIn(1, 64, 10)).rejects.toThrow('transferIn error: Cancelled');
    d.sendToHost(pattern(2, 1));
    expect(bytesOf((await d.transferIn(1, 64, 10)).data)).toEqual([...pattern(2, 1)]);
    const pending = d.transferIn(1, 64, 10_000);
    d.unplug();
    await expect(pending).rejects.toThrow('transferIn error: Disconnected');
  });

  it('unplug fails pending and later calls; after a replug, handles from before stay dead until reopened', async () => {
    const d = await claimed();
    const pending = d.transferIn(1, 64);
    d.unplug();
    await expect(pending).rejects.toMatchObject({ name: 'NotFoundError' });
    await expect(d.transferOut(2, new Uint8Array(1))).rejects.toMatchObject({ name: 'NotFoundError' });
    expect(d.sendToHost(pattern(1))).toBe(false);
    d.replug();
    expect(d.opened).toBe(false);
    await expect(d.transferIn(1, 64)).rejects.toMatchObject({ name: 'InvalidStateError' });
    await d.open();
    await d.claimInterface(0);
    d.sendToHost(pattern(4));
    expect((await d.transferIn(1, 64)).data?.byteLength).toBe(4);
  });

  it('delivers host writes to the device side packet by packet, and copies the buffer at submit time', async () => {
    const d = await claimed({ packetSize: 8 });
    const got: number[][] = [];
    d.onHostWrite((p) => got.push([...p]));
    const buf = pattern(20);
    const done = d.transferOut(2, buf);
    buf.fill(0);
    expect(await done).toEqual({ status: 'ok', bytesWritten: 20 });
    expect(got.map((p) => p.length)).toEqual([8, 8, 4]);
    expect(got.flat()).toEqual([...pattern(20)]);
  });

  it('kernel drivers bind on configuration and block a claim until detached', async () => {
    const d = new FakeUsbDevice({ interfaces: [{ interfaceNumber: 0, interfaceClass: 0xff, endpoints: [], kernelDriver: true }] });
    await d.open();
    await expect(d.claimInterface(0)).rejects.toThrow(/busy/);
    await d.detachKernelDriver!(0);
    await d.claimInterface(0);
    await expect(d.detachKernelDriver!(0)).rejects.toThrow('no kernel driver attached');
  });
});

describe('FakeUsbBus', () => {
  it('announces plug, unplug and replug on a later tick, with a new handle after a replug', async () => {
    const bus = new FakeUsbBus();
    const seen: string[] = [];
    bus.addEventListener('connect', (e) => seen.push(`connect ${e.device.handle}`));
    bus.addEventListener('disconnect', (e) => seen.push(`disconnect ${e.device.handle}`));
    const d = new FakeUsbDevice();
    bus.plug(d);
    expect(seen).toEqual([]);
    await tick();
    const h1 = d.handle;
    d.unplug();
    expect(await bus.getDevices()).toEqual([]);
    await tick();
    d.replug();
    await tick();
    expect(seen).toEqual([`connect ${h1}`, `disconnect ${h1}`, `connect ${d.handle}`]);
    expect(d.handle).not.toBe(h1);
    expect(await bus.findDeviceByIds(0x1209, 0x000c)).toBe(d);
  });
});
