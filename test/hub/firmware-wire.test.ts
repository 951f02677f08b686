// A table the core compiled, pushed by the real host client over the real USB transport to the
// simulated hub's firmware: the hub enforces exactly those bytes and decides as the core's decide().
import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import { decide } from '../../core/access/decide.ts';
import { AccessCompiler } from '../../core/access/table/compile.ts';
import { arbSiteSpec, BASE_MS, buildSnapshot, tagNumberFor } from '../../core/access/testing/random-site.ts';
import { DAY_MS, HOUR_MS } from '../../core/time/zone.ts';
import type { IqHubClient } from '../../drivers/iq/host/hub-client.ts';
import { drain, EventStore, makeFirmware, usbBench } from '../../drivers/hub-sim/firmware/testing.ts';
import { expectedOf } from './support.ts';

const clients: IqHubClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const T0 = BASE_MS + 10 * DAY_MS + 9 * HOUR_MS;
/** Every (tag, lock) index pair, at most 30. */
const pairs = (tags: number, locks: number) => Array.from({ length: Math.min(tags * locks, 30) }, (_, i) => [i % tags, Math.floor(i / tags) % locks] as const);

it('enforces a core-compiled table pushed over USB and decides as decide()', async () => {
  // A site with an IQ that has locks and people with tags.
  const [spec, snap, maybeTable] = fc
    .sample(arbSiteSpec, { seed: 11, numRuns: 200 })
    .map((s) => {
      const snapshot = buildSnapshot(s);
      return [s, snapshot, new AccessCompiler(snapshot, BASE_MS).compileAll().get('iq-0')] as const;
    })
    .find(([s, snapshot, t]) => {
      const ls = [...snapshot.locks.values()].filter((l) => l.iq_id === 'iq-0');
      if (!t || s.tags.length < 4 || ls.length < 2) return false;
      // Grants and refusals both, so a hub that always says one thing fails.
      const grants = pairs(s.tags.length, ls.length).filter(([ti, li]) => decide(snapshot, tagNumberFor(ti), ls[li]!.id, T0).granted).length;
      return grants >= 3 && grants < pairs(s.tags.length, ls.length).length;
    })!;
  const table = maybeTable!;
  const locks = [...snap.locks.values()].filter((l) => l.iq_id === 'iq-0');
  const zone = snap.iqs.get('iq-0')!.time_zone;

  const fw = makeFirmware({ t0: T0, hub: { iqId: 'iq-0' } });
  const bench = usbBench(fw);
  const client = await bench.connect();
  clients.push(client);
  await client.setClock({ utc_ms: fw.utcNow(), zone, initial_offset_min: 0, transitions: [] });
  const active = await client.activateTable({ kind: 'full', bytes: table.serialize(), version: 3, hash: table.hash });
  expect(active).toEqual({ version: 3, hash: table.hash });
  expect(Buffer.from(fw.hub.tableBytes()!).equals(Buffer.from(table.serialize()))).toBe(true);

  const seen: Array<{ granted: boolean; lock: string; tag: string }> = [];
  let granted = 0;
  for (const [ti, li] of pairs(spec.tags.length, locks.length)) {
    const lock = locks[li]!;
    const tag = tagNumberFor(ti);
    const r = fw.hub.presentTag(lock.id, tag);
    const at = r.events[0]!.time;
    const want = expectedOf(snap, decide(snap, tag, lock.id, at));
    expect({ granted: r.decision.granted, reason: r.decision.reason }).toEqual({ granted: want.granted, reason: want.reason });
    if (want.granted) granted++;
    seen.push({ granted: want.granted, lock: lock.id, tag });
  }

  // The hub's entries reach the host as the core would ingest them.
  const store = new EventStore();
  await drain(client, store);
  const entries = [...store.rows.values()] as Array<{ event_category: string; lock_id: string; tag_number: string | null }>;
  expect(entries.map((e) => [e.event_category === 'lock_opened', e.lock_id, e.tag_number])).toEqual(seen.map((s) => [s.granted, s.lock, s.tag]));
  expect(granted).toBeGreaterThanOrEqual(2);
  console.info(`core table ${table.hash.slice(0, 12)}…: ${seen.length} presentations, ${granted} granted, all as decide()`);
}, 20_000);
