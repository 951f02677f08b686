// The site card key on the simulated hub, through the wire: the real host client over the fake USB bus
// gives it with SET_SITE_KEY, the hub reports it by fingerprint, its locks then check card credentials,
// and its flash keeps it through reboots and a power cut in the middle of writing a new one. It goes
// only over a channel encrypted under the hub's own key; a factory reset forgets it.
import { afterEach, describe, expect, it } from 'vitest';
import { issueWrites, sectorAfter } from '../../mifare/credential.ts';
import { NakReason, Reply } from '../../osdp/codes.ts';
import type { SecureChannelConfig } from '../../osdp/control-panel.ts';
import { OSDP } from '../../iq/codes.ts';
import { IqHubClient } from '../../iq/host/hub-client.ts';
import { encodeCommand } from '../../iq/mfg.ts';
import { openUsbHub } from '../../transport/usb-hub-transport.ts';
import { siteTable } from '../fixtures.ts';
import { MemoryFlash, SLOTS } from '../flash.ts';
import { SCBK_KEY, type HubFirmware } from './firmware.ts';
import { FAST_OSDP, KEY, makeFirmware, usbBench } from './testing.ts';

/** Monday 2 November 2026, 10:00 in Amsterdam: inside the fixtures' table window. */
const T0 = Date.parse('2026-11-02T10:00:00+01:00');
const SITE_ID = 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607';
const SITE_KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
/** SITE_KEY's fingerprint (docs/iq-protocol.md, worked examples). */
const FINGERPRINT = '46bc7ed5a46f8c88';
const NEXT_KEY = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 - i);
const UID = Uint8Array.of(0x04, 0xa1, 0xb2, 0xc3);
const TABLE = siteTable({ locks: [{ pk: 1, id: 'front' }], groups: [{ pk: 1, locks: [1], schedules: [] }], users: [{ pk: 1, groups: [1] }], tags: [{ number: 1001, userPk: 1, uid: UID, issueCounter: 1 }] });

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function hub(flash = new MemoryFlash()) {
  const firmware = makeFirmware({ t0: T0, flash });
  expect(firmware.hub.installTable(TABLE)).toMatchObject({ ok: true });
  return { firmware, bench: usbBench(firmware) };
}

async function connect(bench: ReturnType<typeof usbBench>, secureChannel: SecureChannelConfig = { scbk: KEY }): Promise<IqHubClient> {
  await new Promise((resolve) => setImmediate(resolve));
  const [device] = await bench.bus.getDevices();
  const stream = await openUsbHub(device!, { events: bench.bus, readTimeoutMs: 250 });
  const client = await IqHubClient.connect({ link: stream, address: 'usb:sim', secureChannel, osdp: FAST_OSDP, pollIntervalMs: 200 });
  cleanups.push(() => client.close());
  return client;
}

const card = (siteKey: Uint8Array) => ({ uid: UID, sector: sectorAfter(issueWrites(siteKey, UID, { siteId: SITE_ID, tagNumber: '0000001001', issueCounter: 1 })) });
const present = (firmware: HubFirmware, c: { uid: Uint8Array; sector: Uint8Array | null }) => firmware.hub.presentTag('front', c).decision;

describe('the site card key over the wire', () => {
  it('is installed by SET_SITE_KEY, reported by fingerprint, and makes the locks check credentials', async () => {
    const { firmware, bench } = hub();
    const client = await connect(bench);
    expect(await client.siteKeyFingerprint()).toBeNull();
    // Without the key the hub checks UIDs only: a clone of the UID opens.
    expect(present(firmware, { uid: UID, sector: null })).toMatchObject({ granted: true });

    expect(await client.setSiteKey({ generation: 1, site_id: SITE_ID, key: SITE_KEY })).toBe(FINGERPRINT);
    expect(await client.siteKeyFingerprint()).toBe(FINGERPRINT);
    expect(firmware.siteKeyFingerprint).toBe(FINGERPRINT);
    expect(present(firmware, card(SITE_KEY))).toMatchObject({ granted: true });
    expect(present(firmware, { uid: UID, sector: null })).toMatchObject({ granted: false, reason: 'invalid_credential', cause: 'credential_missing' });

    // A new key replaces it at once: cards made under the old one no longer open.
    expect(await client.setSiteKey({ generation: 2, site_id: SITE_ID, key: NEXT_KEY })).not.toBe(FINGERPRINT);
    expect(present(firmware, card(SITE_KEY))).toMatchObject({ granted: false, cause: 'credential_missing' });
    expect(present(firmware, card(NEXT_KEY))).toMatchObject({ granted: true });
  });

  it('is repeated harmlessly, kept through a reboot, and survives a power cut while a new one is written', async () => {
    const flash = new MemoryFlash();
    const { firmware, bench } = hub(flash);
    let client = await connect(bench);
    await client.setSiteKey({ generation: 1, site_id: SITE_ID, key: SITE_KEY });
    const stored = flash.read(SLOTS.siteKey);
    // The same key again (a reply lost, a reconnect): the same answer, nothing written.
    flash.armPowerCut({ op: 'replace', name: SLOTS.siteKey, afterBytes: 0 });
    expect(await client.setSiteKey({ generation: 1, site_id: SITE_ID, key: SITE_KEY })).toBe(FINGERPRINT);
    expect(flash.read(SLOTS.siteKey)).toEqual(stored);
    expect(Buffer.from(stored!).includes(Buffer.from(SITE_KEY))).toBe(true); // flash, not a secure element: a simulator

    // The cut armed above fires while the next key is half written: the hub says so and keeps the old one.
    await expect(client.setSiteKey({ generation: 2, site_id: SITE_ID, key: NEXT_KEY })).rejects.toMatchObject({ code: 'refused', details: { hubError: 'storage_error' } });
    await client.close();
    bench.usb.reboot();
    client = await connect(bench);
    expect(await client.siteKeyFingerprint()).toBe(FINGERPRINT);
    expect(present(firmware, card(SITE_KEY))).toMatchObject({ granted: true });
    expect(present(firmware, { uid: UID, sector: null })).toMatchObject({ granted: false, cause: 'credential_missing' });
  });

  it('is dropped when its flash slot is damaged, which the boot report says', async () => {
    const flash = new MemoryFlash();
    const { firmware, bench } = hub(flash);
    const client = await connect(bench);
    await client.setSiteKey({ generation: 1, site_id: SITE_ID, key: SITE_KEY });
    const slot = flash.read(SLOTS.siteKey)!;
    slot[10]! ^= 0xff;
    flash.replace(SLOTS.siteKey, slot);
    firmware.reboot();
    expect(firmware.siteKeyFingerprint).toBeNull();
    expect(firmware.hub.bootReport.faults).toEqual([expect.stringMatching(/^site-key\.bin: unreadable/)]);
  });

  it('is forgotten by a factory reset, which keeps the secure-channel key', async () => {
    const { firmware, bench } = hub();
    const client = await connect(bench);
    await client.setSiteKey({ generation: 1, site_id: SITE_ID, key: SITE_KEY });
    await client.factoryReset();
    expect(firmware.siteKeyFingerprint).toBeNull();
    expect(firmware.hub.getKey(SCBK_KEY)).toEqual(KEY);
  });
});

describe('only over a channel encrypted under the hub’s own key', () => {
  it('the client refuses a link that is MACed only, before anything is sent', async () => {
    const { firmware, bench } = hub();
    const client = await connect(bench, { scbk: KEY, encrypt: false });
    const mfgBefore = firmware.stats.mfg;
    await expect(client.setSiteKey({ generation: 1, site_id: SITE_ID, key: SITE_KEY })).rejects.toMatchObject({ code: 'secure_channel' });
    expect(firmware.stats.mfg).toBe(mfgBefore);
    expect(firmware.siteKeyFingerprint).toBeNull();
  });

  it('the client refuses a hub in install mode (SCBK-D is public), and so does the hub', async () => {
    const firmware = makeFirmware({ t0: T0, factoryKey: null });
    const client = await connect(usbBench(firmware), { installMode: true });
    await expect(client.setSiteKey({ generation: 1, site_id: SITE_ID, key: SITE_KEY })).rejects.toMatchObject({ code: 'secure_channel' });
    const data = encodeCommand({ type: 'set_site_key', generation: 1, site_id: SITE_ID, key: SITE_KEY });
    expect(firmware.handle({ code: OSDP.MFG, data, secure: true })).toEqual({ code: Reply.NAK, data: Uint8Array.of(NakReason.SC_COND) });
    expect(firmware.handle({ code: OSDP.MFG, data, secure: false })).toEqual({ code: Reply.NAK, data: Uint8Array.of(NakReason.SC_COND) });
    expect(firmware.siteKeyFingerprint).toBeNull();
  });

  it('once given its own key by KEYSET, the same client may send it', async () => {
    const firmware = makeFirmware({ t0: T0, factoryKey: null });
    const client = await connect(usbBench(firmware), { installMode: true });
    await client.setKey(KEY);
    expect(await client.setSiteKey({ generation: 1, site_id: SITE_ID, key: SITE_KEY })).toBe(FINGERPRINT);
  });
});
