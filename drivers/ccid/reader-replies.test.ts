// Replies a well-behaved reader never sends: a scripted device on the fake bus answers each command
// with crafted bytes, and the reader must turn each into a clear CcidError.
import { describe, expect, it } from 'vitest';
import { FakeUsbDevice } from '../transport/fake-webusb.ts';
import { decodeCommand, encodeReply, type CcidReply } from './messages.ts';
import { openCcidReader, type SlotEvent } from './reader.ts';

function scripted(answer: (seq: number) => Uint8Array[]): FakeUsbDevice {
  const device = new FakeUsbDevice({
    vendorId: 0x072f,
    productId: 0x2200,
    errorStyle: 'node-usb-3',
    interfaces: [
      {
        interfaceNumber: 0,
        interfaceClass: 0x0b,
        endpoints: [
          { endpointNumber: 3, direction: 'in', type: 'interrupt', packetSize: 8 },
          { endpointNumber: 1, direction: 'out', type: 'bulk', packetSize: 64 },
          { endpointNumber: 2, direction: 'in', type: 'bulk', packetSize: 64 },
        ],
      },
    ],
  });
  device.onHostWrite((bytes) => {
    const cmd = decodeCommand(bytes);
    setImmediate(() => {
      for (const r of answer(cmd.seq)) device.sendToHost(r, { endpointNumber: 2 });
    });
  });
  return device;
}

const ok = { icc: 'active', command: 'ok' } as const;
const block = (seq: number, over: Partial<CcidReply> = {}): Uint8Array =>
  encodeReply({ type: 'DataBlock', slot: 0, seq, status: ok, error: 0x81, chainParameter: 0, data: Uint8Array.of(0x90, 0x00), ...over } as CcidReply);

async function run(answer: (seq: number) => Uint8Array[], o = {}): Promise<unknown> {
  const device = scripted(answer);
  const reader = await openCcidReader(device, { timeoutMs: 100, retries: 0, ...o });
  try {
    return await reader.transact({ type: 'XfrBlock', bwi: 0, levelParameter: 0, data: Uint8Array.of(0xff, 0xca, 0, 0, 0) });
  } catch (e) {
    return e;
  } finally {
    await reader.close();
  }
}

describe('reader: replies checked against the command', () => {
  it('reads the endpoints from the descriptors', async () => {
    const device = scripted((seq) => [block(seq)]);
    const reader = await openCcidReader(device);
    expect(reader.endpoints).toMatchObject({ interfaceNumber: 0, bulkIn: { endpointNumber: 2 }, bulkOut: { endpointNumber: 1 }, interruptIn: { endpointNumber: 3 } });
    await reader.close();
  });

  it('accepts bError 0x81 when the command did not fail', async () => {
    expect(await run((seq) => [block(seq)])).toMatchObject({ type: 'DataBlock', error: 0x81 });
  });

  it('wrong slot, wrong reply type, bad length, reserved status bits', async () => {
    expect(await run((seq) => [block(seq, { slot: 1 })])).toMatchObject({ code: 'wrong_slot' });
    expect(await run((seq) => [encodeReply({ type: 'SlotStatus', slot: 0, seq, status: ok, error: 0, clockStatus: 0 })])).toMatchObject({
      code: 'wrong_reply_type',
      message: expect.stringMatching(/XfrBlock was answered with RDR_to_PC_SlotStatus/),
    });
    expect(await run((seq) => [block(seq).subarray(0, 11)])).toMatchObject({ code: 'length_mismatch' });
    expect(
      await run((seq) => {
        const b = block(seq);
        b[7] = 0x04;
        return [b];
      }),
    ).toMatchObject({ code: 'bad_field' });
  });

  it('every failed-status bError comes back as command_failed with the byte', async () => {
    for (const error of [0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4, 0xf3, 0xf2, 0xf0, 0xef, 0xe0, 0x00, 0x01, 0x05]) {
      for (const icc of ['active', 'inactive', 'absent'] as const) {
        const e = await run((seq) => [block(seq, { status: { icc, command: 'failed' }, error, data: new Uint8Array(0) })]);
        expect(e).toMatchObject({ code: 'command_failed', slotError: error, details: { status: { icc } } });
      }
    }
  });

  it('more than 10 stale replies in a row is an error', async () => {
    expect(await run((seq) => Array.from({ length: 11 }, () => block((seq + 100) & 0xff)))).toMatchObject({ code: 'wrong_sequence' });
    expect(await run((seq) => [...Array.from({ length: 10 }, () => block((seq + 100) & 0xff)), block(seq)])).toMatchObject({ type: 'DataBlock' });
  });

  it('a time extension with bError 3 waits three timeouts', async () => {
    const t0 = Date.now();
    const r = await run((seq) => {
      const ext = block(seq, { status: { icc: 'active', command: 'time-extension' }, error: 3, data: new Uint8Array(0) });
      return [ext];
    });
    expect(r).toMatchObject({ code: 'timeout' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
  });

  it('reports a HardwareError interrupt and a malformed interrupt', async () => {
    const device = scripted((seq) => [block(seq)]);
    const reader = await openCcidReader(device, { interruptPollMs: 50 });
    const events: SlotEvent[] = [];
    reader.onSlotChange((e) => events.push(e));
    device.sendToHost(Uint8Array.of(0x51, 0, 0, 7), { endpointNumber: 3 });
    device.sendToHost(Uint8Array.of(0x50, 0x0c), { endpointNumber: 3 });
    await new Promise((r) => setTimeout(r, 30));
    expect(events[0]).toEqual({ type: 'hardware-error', code: 7 });
    expect(events[1]).toMatchObject({ type: 'error', error: { code: 'bad_field' } });
    await reader.close();
  });

  it('Escape goes through and comes back as RDR_to_PC_Escape', async () => {
    const device = scripted((seq) => [encodeReply({ type: 'Escape', slot: 0, seq, status: ok, error: 0x81, data: Uint8Array.of(1, 2) })]);
    const reader = await openCcidReader(device);
    expect(await reader.transact({ type: 'Escape', data: Uint8Array.of(0xff, 0x00, 0x48, 0x00, 0x00) })).toMatchObject({ type: 'Escape', data: Uint8Array.of(1, 2) });
    await reader.close();
  });
});
