// The composition root for card encoders: the ACR122U-class readers on this computer's USB (and, in
// the demo, a simulated one with a tray of cards beside it) become the core's EncoderSource, and an
// EncoderManager serves the contract's `encoders.*` commands with them. The core never sees a driver
// and drivers never see the core; this file is where the two meet.
import { createHash } from 'node:crypto';
import type { EncoderDevice, EncoderSource, EncoderTray } from '../core/encoders/ports.ts';
import { EncoderManager } from '../core/encoders/encoder-manager.ts';
import { SiteKeys } from '../core/secrets/site-keys.ts';
import { systemActor } from '../core/service/actor.ts';
import { createTag } from '../core/service/handlers/people.ts';
import type { GatehouseService } from '../core/service/service.ts';
import { getTagByUid } from '../core/store/repos/tags.ts';
import { watchEncoders, type EncoderStation } from '../drivers/encoder/station.ts';
import { createDemoTray, type DemoTray, type EncodedDemoCard } from '../drivers/encoder-sim/tray.ts';
import { FakeUsbBus } from '../drivers/transport/fake-webusb.ts';
import { loadUsbModule } from '../drivers/transport/usb-module.ts';
import type { UsbModule } from '../drivers/transport/webusb-types.ts';

export interface EncodersOptions {
  log: (line: string) => void;
  /** Look for encoders on USB. Default true; `load` replaces the `usb` package (tests). */
  usb?: boolean | { load: () => Promise<UsbModule> };
  /** The demo's simulated encoder, with a tray of blank, encoded and foreign cards. */
  simulated?: boolean;
  /** Blank cards in the demo tray (default 8: enough to encode a few people and re-issue one). */
  blankCards?: number;
  /** The reader's per-step retries and timeouts, for tests. */
  driver?: { stepRetries?: number };
}

/** The demo's encoder, to act on as a person at the desk would (tests). */
export interface SimulatedEncoder {
  tray: DemoTray;
  simulator: ReturnType<typeof createDemoTray>['simulator'];
}

export interface Encoders {
  /**
   * Starts serving a service's encoder commands (after a restore, the new service's): the previous
   * manager stops first. Returns a function that stops this one.
   */
  attach(service: GatehouseService): () => Promise<void>;
  /** The demo's encoder once attached (with `simulated`), else null. */
  readonly simulated: SimulatedEncoder | null;
  close(): Promise<void>;
}

/**
 * Both stations (USB, simulated) as one source. The driver's CardEncoder is taken as the core's
 * EncoderDevice without a cast: the compiler holds the two shapes together.
 */
function mergedSource(stations: readonly EncoderStation[]): EncoderSource {
  return {
    list: (): EncoderDevice[] => stations.flatMap((s) => [...s.list()]),
    onAttach(listener) {
      const offs = stations.map((s) => s.onAttach(listener));
      return () => offs.forEach((off) => off());
    },
    problem: () => stations.map((s) => s.problem()).find((p) => p !== null) ?? null,
  };
}

/**
 * Two demo people's cards, encoded before the demo starts, so "whose card is this?" has something to
 * find. Their UIDs are derived from the site id, so a restarted demo finds the same tags again.
 */
function demoCards(service: GatehouseService, siteId: string): EncodedDemoCard[] {
  const db = service.db.read;
  const people = db
    .prepare(`SELECT id, first_name || ' ' || last_name AS name FROM users WHERE kind = 'employee' AND blocked = 0 ORDER BY last_name, first_name LIMIT 2`)
    .all() as Array<{ id: string; name: string }>;
  const cards: EncodedDemoCard[] = [];
  people.forEach((p, i) => {
    const digest = createHash('sha256').update(`gatehouse demo card ${siteId} ${i}`).digest();
    // Not 08 (random-ID marker) or 88 (cascade tag): a UID a real card could have.
    if (digest[0] === 0x08 || digest[0] === 0x88) digest[0] = 0x5a;
    const uid = digest.subarray(0, 4).toString('hex').toUpperCase();
    let tag = getTagByUid(db, uid);
    if (!tag) {
      service.transact(systemActor('demo'), 'encoders.encode', (ctx) =>
        createTag(ctx, { card_uid: uid, kind: 'card', source_iq_id: null, user_id: p.id, blocked: false, issue_counter: 1 }),
      );
      tag = getTagByUid(db, uid)!;
    }
    // A demo card re-issued or taken away since: it stays in the tray as what it was, an old card.
    cards.push({ uid, tagNumber: tag.tag_number, issueCounter: tag.user_id === p.id ? tag.issue_counter : 1, label: `Card of ${p.name}` });
  });
  return cards;
}

export function createEncoders(o: EncodersOptions): Encoders {
  const useUsb = o.usb ?? true;
  const usbStation: EncoderStation | null = useUsb
    ? watchEncoders(typeof useUsb === 'object' ? useUsb.load() : loadUsbModule(), { log: o.log, ...(o.driver?.stepRetries !== undefined ? { stepRetries: o.driver.stepRetries } : {}) })
    : null;
  let demo: { station: EncoderStation; tray: DemoTray; simulator: SimulatedEncoder['simulator'] } | null = null;
  let current: { manager: EncoderManager } | null = null;
  let closed = false;

  const simulatedFor = (service: GatehouseService): typeof demo => {
    if (!o.simulated || !service.secrets) return null;
    if (demo) return demo;
    const site = new SiteKeys(service.db, service.secrets, service.now).currentOrCreate();
    const bus = new FakeUsbBus();
    const { simulator, tray } = createDemoTray({ bus, siteKey: site.key, siteId: site.site_id, encoded: demoCards(service, site.site_id), blank: o.blankCards ?? 8 });
    const station = watchEncoders(Promise.resolve(bus), { simulated: true, log: o.log });
    demo = { station, tray, simulator };
    return demo;
  };

  return {
    attach(service) {
      if (closed) return async () => {};
      current?.manager.close();
      let sim: typeof demo = null;
      try {
        sim = simulatedFor(service);
      } catch (e) {
        o.log(`[error] the demo's simulated encoder could not be set up: ${(e as Error).message}`);
      }
      const stations = [usbStation, sim?.station].filter((s): s is EncoderStation => s !== null && s !== undefined);
      const tray: EncoderTray | null = sim ? sim.tray : null;
      const mine = { manager: new EncoderManager(service, mergedSource(stations), tray) };
      current = mine;
      return async () => {
        mine.manager.close();
        if (current === mine) current = null;
      };
    },
    get simulated() {
      return demo ? { tray: demo.tray, simulator: demo.simulator } : null;
    },
    async close() {
      closed = true;
      current?.manager.close();
      current = null;
      await Promise.allSettled([usbStation?.close(), demo?.station.close()]);
    },
  };
}
