// A Gatehouse IQ's cUID is its MAC then 00 00 (docs/iq-protocol.md, Keys), and the simulated firmware
// sends exactly that in osdp_CCRYPT.
import { describe, expect, it } from 'vitest';
import { HubFirmware } from '../../hub-sim/firmware/firmware.ts';
import { ControlPanel } from '../../osdp/control-panel.ts';
import { FakeClock } from '../../osdp/testing/fake-clock.ts';
import { memoryLinkPair } from '../../osdp/testing/memory-link.ts';
import { createRng } from '../../osdp/testing/prng.ts';
import { SCBK_D } from '../../osdp/secure-channel.ts';
import { parseAddress } from './convert.ts';
import { clientUidForMac, macFromClientUid } from './keys.ts';

describe('cUID ↔ MAC', () => {
  it('puts the MAC first and two zero bytes after it, and reads it back', () => {
    const uid = clientUidForMac(parseAddress('00-14-22-01-23-45')!);
    expect([...uid]).toEqual([0x00, 0x14, 0x22, 0x01, 0x23, 0x45, 0x00, 0x00]);
    expect(macFromClientUid(uid)).toBe('00-14-22-01-23-45');
  });

  it('reads no MAC from a cUID of another shape, and refuses a MAC that is not 6 bytes', () => {
    expect(macFromClientUid(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBeNull();
    expect(macFromClientUid(Uint8Array.of(1, 2, 3, 4, 5, 6, 0))).toBeNull();
    expect(() => clientUidForMac(new Uint8Array(8))).toThrow(RangeError);
  });

  it('the simulated firmware names its MAC in osdp_CCRYPT', async () => {
    const clock = new FakeClock();
    const [cpEnd, pdEnd] = memoryLinkPair(clock, createRng(1));
    const firmware = new HubFirmware({ mac: parseAddress('02-00-5E-10-00-09')!, factoryKey: null, clock });
    firmware.attach(pdEnd);
    const seen: string[] = [];
    const cp = new ControlPanel({
      link: cpEnd,
      address: 0,
      clock,
      secureChannel: { chooseKey: { candidates: (r) => (seen.push(`${macFromClientUid(r.clientUid)} ${r.installMode}`), [SCBK_D]) } },
    });
    cp.start();
    await clock.runUntil(() => cp.state === 'online' || cp.state === 'offline');
    expect(cp.state).toBe('online');
    expect(seen).toEqual(['02-00-5E-10-00-09 true']);
  });
});
