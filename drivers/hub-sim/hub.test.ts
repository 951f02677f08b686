import { describe, expect, it } from 'vitest';
import type { HubEvent } from './events.ts';
import { diffBetween, localDay, siteTable, type SiteFixture } from './fixtures.ts';
import { MemoryFlash, PowerLossError } from './flash.ts';
import { HubError, SimulatedHub, simulatedCardUid } from './hub.ts';
import { USER_FLAG } from './table.ts';

const T = (iso: string) => Date.parse(iso);
/** Monday 2 November 2026, 10:00 in Amsterdam (CET). */
const MON_10 = T('2026-11-02T10:00:00+01:00');
const S = 1000;

const site: SiteFixture = {
  registered: [2000],
  locks: [
    { pk: 1, id: 'front', offline: [1003] },
    { pk: 2, id: 'office', eom: { mask: 0x1f, start: '08:00:00', end: '17:59:59', autoStart: true } },
    { pk: 3, id: 'lab', eom: { mask: 0x1f, start: '08:00:00', end: '17:59:59', autoStart: false } },
  ],
  groups: [
    { pk: 1, locks: [1, 2, 3], schedules: [{ pk: 11, mask: 0x1f, start: '07:00:00', end: '19:59:59' }] },
    { pk: 2, locks: [1], schedules: [] },
    { pk: 3, calendarPk: 1, locks: [1], schedules: [{ pk: 31, mask: 0x7f, start: '09:00:00', end: '16:59:59' }] },
  ],
  users: [
    { pk: 1, flags: USER_FLAG.toggleEasyOfficeMode | USER_FLAG.toggleManualOfficeMode | USER_FLAG.remoteAccess, groups: [1] },
    { pk: 2, flags: USER_FLAG.overridePrivacy, groups: [2] },
    { pk: 3, flags: USER_FLAG.blocked, groups: [1] },
    { pk: 4, flags: USER_FLAG.suspended, groups: [1] },
    { pk: 5, groups: [1], validFrom: T('2026-12-01T00:00:00Z'), validUntil: T('2027-01-01T00:00:00Z') },
    { pk: 6, groups: [] },
    { pk: 7, groups: [3] },
  ],
  tags: [
    { number: 1001, userPk: 1, uid: Uint8Array.from([0x04, 0xa1, 0xb2, 0xc3]) },
    { number: 1002, userPk: 2 },
    { number: 1003, userPk: 6 },
    { number: 1004, userPk: 3 },
    { number: 1005, userPk: 1, flags: 2 },
    { number: 1006, userPk: 4 },
    { number: 1007, userPk: 7 },
    { number: 1008, userPk: 5 },
    { number: 1009, userPk: 1, flags: 1 },
  ],
  calendars: [{ pk: 1, days: [{ day: localDay('2026-12-25'), type: 0 }] }],
};

/** A hub whose clock stands still at `at`; actions pass their own instants. */
function hubWithSite(opts: { at?: number; flash?: MemoryFlash } = {}): SimulatedHub {
  const now = opts.at ?? MON_10;
  const hub = new SimulatedHub({ clock: () => now, iqId: 'iq-1', flash: opts.flash });
  expect(hub.installTable(siteTable(site))).toMatchObject({ ok: true, version: 1, changed: true });
  return hub;
}

const entries = (events: HubEvent[], lock?: string) => events.filter((e) => e.kind === 'entry' && (lock === undefined || e.lock_id === lock));

describe('decisions at the door', () => {
  const cases: Array<[string, string | Uint8Array | { tagNumber: string; uid: Uint8Array }, number, string, Record<string, unknown>]> = [
    ['a member in schedule', '1001', MON_10, 'front', { granted: true, reason: 'access', groupPk: 1, schedulePk: 11, tagNumber: '0000001001' }],
    ['a group without schedules', '1002', T('2026-11-01T03:00:00+01:00'), 'front', { granted: true, groupPk: 2, schedulePk: null }],
    ['a registered tag the hub does not hold', '2000', MON_10, 'front', { granted: false, reason: 'no_access' }],
    ['an unregistered tag', '0000003000', MON_10, 'front', { granted: false, reason: 'unknown_tag' }],
    ['an offline key while the lock is online', '1003', MON_10, 'front', { granted: false, reason: 'no_access' }],
    ['a blocked person', '1004', MON_10, 'front', { granted: false, reason: 'blocked', cause: 'user_blocked' }],
    ['a lost tag', '1005', MON_10, 'front', { granted: false, reason: 'blocked', cause: 'tag_lost_or_stolen' }],
    ['a blocked tag', '1009', MON_10, 'front', { granted: false, reason: 'blocked', cause: 'tag_blocked' }],
    ['a suspended person', '1006', MON_10, 'front', { granted: false, reason: 'suspended' }],
    ['before validity', '1008', MON_10, 'front', { granted: false, reason: 'not_yet_valid' }],
    ['at the end of validity', '1008', T('2027-01-01T00:00:00Z'), 'front', { granted: false, reason: 'expired' }],
    ['within validity', '1008', T('2026-12-01T09:00:00+01:00'), 'front', { granted: true }],
    ['after the inclusive end second', '1001', T('2026-11-02T20:00:00+01:00'), 'front', { granted: false, reason: 'outside_schedule' }],
    ['on the inclusive end second', '1001', T('2026-11-02T19:59:59+01:00'), 'front', { granted: true }],
    ['on a holiday', '1007', T('2026-12-25T10:00:00+01:00'), 'front', { granted: false, reason: 'holiday' }],
    ['the day before the holiday', '1007', T('2026-12-24T10:00:00+01:00'), 'front', { granted: true, groupPk: 3, schedulePk: 31 }],
    ['in summer time', '1001', T('2027-06-07T07:30:00+02:00'), 'front', { granted: true }],
    ['outside the table window', '1001', T('2028-02-01T10:00:00+01:00'), 'front', { granted: false, reason: 'outside_table_window' }],
    ['by card UID', Uint8Array.from([0x04, 0xa1, 0xb2, 0xc3]), MON_10, 'front', { granted: true, tagNumber: '0000001001' }],
    ['by an unknown UID', Uint8Array.from([9, 9, 9, 9]), MON_10, 'front', { granted: false, reason: 'unknown_tag', cause: 'uid_not_in_table', cardUid: '09090909' }],
    ['with a UID that is not the tag’s', { tagNumber: '1001', uid: Uint8Array.from([9, 9, 9, 9]) }, MON_10, 'front', { granted: false, reason: 'unknown_tag', cause: 'uid_mismatch' }],
    ['an unreadable number', 'abc', MON_10, 'front', { granted: false, reason: 'unknown_tag', cause: 'unreadable_tag_number' }],
  ];
  it.each(cases)('%s', (_name, cred, at, lock, expected) => {
    const hub = hubWithSite();
    expect(hub.presentTag(lock, cred, { at }).decision).toMatchObject(expected);
  });

  it('opens offline only with an offline key, at any hour', () => {
    const hub = hubWithSite();
    hub.loseRadio('front', { at: MON_10 });
    expect(hub.presentTag('front', '1003', { at: T('2026-11-08T03:00:00+01:00') }).decision).toMatchObject({ granted: true, reason: 'offline' });
    expect(hub.presentTag('front', '1001', { at: T('2026-11-08T03:00:00+01:00') }).decision).toMatchObject({ granted: false, reason: 'offline' });
    // the tag's own state still comes first
    expect(hub.presentTag('front', '1004', { at: T('2026-11-08T03:00:00+01:00') }).decision).toMatchObject({ granted: false, reason: 'blocked' });
  });

  it('respects privacy mode unless the person may override it', () => {
    const hub = hubWithSite();
    hub.setPrivacy('front', true, { at: MON_10 });
    expect(hub.presentTag('front', '1001', { at: MON_10 }).decision).toMatchObject({ granted: false, reason: 'privacy_mode' });
    expect(hub.presentTag('front', '1002', { at: MON_10 }).decision).toMatchObject({ granted: true });
  });

  it('refuses everything without a table, and at a lock the table does not know', () => {
    const hub = new SimulatedHub({ clock: () => MON_10 });
    expect(hub.pairLock('front')).toBe(1);
    const r = hub.presentTag(1, '1001');
    expect(r.decision).toMatchObject({ granted: false, reason: 'no_table', tagNumber: '0000001001' });
    expect(r.events).toMatchObject([{ kind: 'entry', event_category: 'lock_rejected', event_detail: 'no_access', hub_reason: 'no_table' }]);
    hub.installTable(siteTable(site));
    expect(hub.pairLock('garage')).toBe(4);
    expect(hub.lockIds()).toEqual(['front', 'office', 'lab', 'garage']);
    hub.unpairLock('office');
    expect(hub.pairLock('office')).toBe(5); // an index is never handed out twice in an epoch
    expect(hub.lockIndex('lab')).toBe(3);
    expect(hub.lockStatus(3).lock_id).toBe('lab');
    expect(hub.presentTag('garage', '1001').decision).toMatchObject({ granted: false, reason: 'lock_not_in_table' });
    expect(() => hub.presentTag('shed', '1001')).toThrow(HubError);
    expect(() => hub.presentTag(99, '1001')).toThrow(/no paired lock at index 99/);
  });

  it('decide() answers without logging or unlocking', () => {
    const hub = hubWithSite();
    const before = hub.eventStatus().nextId;
    expect(hub.decide('front', '1001', { at: MON_10 })).toMatchObject({ granted: true });
    expect(hub.decide('front', '1001', { at: MON_10, privacy: true })).toMatchObject({ reason: 'privacy_mode' });
    expect(hub.decide('front', '1003', { at: MON_10, offline: true })).toMatchObject({ reason: 'offline', granted: true });
    expect(hub.eventStatus().nextId).toBe(before);
    expect(hub.lockStatus('front', MON_10).locked_state).toBe('locked');
  });
});

describe('lock behaviours', () => {
  it('a grant releases the lock for a pulse and is logged with the tag; a refusal is logged with its reason', () => {
    const hub = hubWithSite();
    const ok = hub.presentTag('front', '1001', { at: MON_10 });
    expect(ok.events).toMatchObject([{ kind: 'entry', time: MON_10, lock_id: 'front', event_category: 'lock_opened', event_detail: null, access_by: 'tag', tag_number: '0000001001' }]);
    expect(hub.lockStatus('front', MON_10 + 4 * S).locked_state).toBe('unlocked');
    expect(hub.lockStatus('front', MON_10 + 5 * S).locked_state).toBe('locked');
    const no = hub.presentTag('front', '1005', { at: MON_10 + 10 * S });
    expect(no.events).toMatchObject([{ event_category: 'lock_rejected', event_detail: 'blocked', hub_reason: 'tag_lost_or_stolen', tag_number: '0000001005' }]);
    expect(no.events[0]!.id).toBe(ok.events[0]!.id + 1);
  });

  it('leaving through a locked door is an inside-handle opening; a door left open raises door_left_open once, at 30 s', () => {
    const hub = hubWithSite();
    expect(hub.openDoor('front', { at: MON_10 }).events).toMatchObject([{ event_category: 'lock_opened', event_detail: 'inside_handle', access_by: 'inside_handle' }]);
    expect(hub.tick(MON_10 + 29 * S).events).toEqual([]);
    expect(hub.tick(MON_10 + 31 * S).events).toMatchObject([{ kind: 'incident', incident_type: 'door_left_open', time: MON_10 + 30 * S, lock_id: 'front' }]);
    expect(hub.tick(MON_10 + 120 * S).events).toEqual([]);
    expect(hub.lockStatus('front').left_open_alarm).toBe(true);
    hub.closeDoor('front', { at: MON_10 + 130 * S });
    expect(hub.lockStatus('front').left_open_alarm).toBe(false);
    const left = hub.leaveOpen('lab', { at: MON_10 + 200 * S, forMs: 45 * S });
    expect(left.events.map((e) => (e.kind === 'incident' ? e.incident_type : e.kind))).toEqual(['entry', 'door_left_open']);
    expect(hub.leaveOpen('front', { at: MON_10 + 400 * S, forMs: 10 * S }).events.filter((e) => e.kind === 'incident')).toEqual([]);
  });

  it('forcing a locked door is an intrusion; opening a released door is not', () => {
    const hub = hubWithSite();
    expect(hub.forceDoor('front', { at: MON_10 }).events).toMatchObject([{ kind: 'incident', incident_type: 'intrusion' }]);
    expect(hub.lockStatus('front').intrusion_alarm).toBe(true);
    hub.closeDoor('front', { at: MON_10 + S });
    expect(hub.lockStatus('front').intrusion_alarm).toBe(false);
    hub.presentTag('front', '1001', { at: MON_10 + 10 * S });
    expect(hub.forceDoor('front', { at: MON_10 + 12 * S }).events).toEqual([]);
    expect(hub.lockStatus('front').door_open).toBe(true);
  });

  it('tamper and falling battery levels are incidents', () => {
    const hub = hubWithSite();
    expect(hub.tamper('lab', { at: MON_10 }).events).toMatchObject([{ incident_type: 'tamper', lock_id: 'lab' }]);
    expect(hub.lockStatus('lab').tamper).toBe(true);
    expect(hub.lowBattery('lab', { at: MON_10 }).events).toMatchObject([{ incident_type: 'low_battery' }]);
    expect(hub.lowBattery('lab', { at: MON_10 }).events).toEqual([]);
    expect(hub.lowBattery('lab', { at: MON_10, level: 'very_low' }).events).toMatchObject([{ incident_type: 'low_battery' }]);
    expect(hub.replaceBattery('lab', { at: MON_10 }).events).toEqual([]);
    expect(hub.lockStatus('lab').battery_level).toBe('fresh');
  });

  it('a lock without radio keeps its events and hands them over, in order, when the link is back', () => {
    const hub = hubWithSite();
    expect(hub.loseRadio('front', { at: MON_10 }).events).toMatchObject([{ incident_type: 'lock_offline', time: MON_10 }]);
    const offline = hub.presentTag('front', '1003', { at: MON_10 + 60 * S });
    expect(offline.decision).toMatchObject({ granted: true, reason: 'offline' });
    expect(offline.events).toEqual([]);
    expect(offline.held).toMatchObject([{ event_category: 'lock_opened', event_detail: 'offline', time: MON_10 + 60 * S }]);
    hub.tamper('front', { at: MON_10 + 70 * S });
    expect(hub.lockStatus('front').pending_events).toBe(2);
    const back = hub.restoreRadio('front', { at: MON_10 + 600 * S });
    expect(back.events.map((e) => [e.kind === 'incident' ? e.incident_type : e.kind, e.time])).toEqual([
      ['lock_online', MON_10 + 600 * S],
      ['entry', MON_10 + 60 * S],
      ['tamper', MON_10 + 70 * S],
    ]);
    expect(hub.lockStatus('front').pending_events).toBe(0);
  });

  it('opens remotely when the lock is reachable and, for a person, when the table allows it', () => {
    const hub = hubWithSite();
    expect(hub.remoteOpen('front', { at: MON_10, actor: 'Front desk' })).toMatchObject({ ok: true, events: [{ event_category: 'lock_opened', access_by: 'remote', actor_name: 'Front desk' }] });
    expect(hub.lockStatus('front', MON_10 + S).locked_state).toBe('unlocked');
    expect(hub.remoteOpen('front', { at: MON_10, userPk: 1 })).toMatchObject({ ok: true });
    expect(hub.remoteOpen('front', { at: MON_10, userPk: 2 })).toMatchObject({ ok: false, error: 'not_permitted' });
    hub.loseRadio('front', { at: MON_10 });
    expect(hub.remoteOpen('front', { at: MON_10 })).toMatchObject({ ok: false, error: 'lock_offline' });
  });
});

describe('office modes', () => {
  it('Easy Office Mode starts and ends with its schedule when it auto-starts; entries are still logged meanwhile', () => {
    const hub = hubWithSite({ at: T('2026-11-02T07:00:00+01:00') });
    const start = hub.tick(T('2026-11-02T09:00:00+01:00'));
    expect(entries(start.events)).toMatchObject([{ lock_id: 'office', event_category: 'easy_office_mode', event_detail: 'start', time: T('2026-11-02T08:00:00+01:00'), access_by: null }]);
    expect(hub.lockStatus('office').locked_state).toBe('office_mode');
    expect(hub.lockStatus('lab').locked_state).toBe('locked');
    const seen = hub.presentTag('office', '1002', { at: T('2026-11-02T10:00:00+01:00') });
    expect(seen.events).toMatchObject([{ event_category: 'lock_rejected', event_detail: 'no_access' }]);
    const end = hub.tick(T('2026-11-02T18:30:00+01:00'));
    expect(end.events).toMatchObject([{ lock_id: 'office', event_category: 'easy_office_mode', event_detail: 'end', time: T('2026-11-02T18:00:00+01:00') }]);
    expect(hub.lockStatus('office').locked_state).toBe('locked');
    // Saturday and Sunday have no window; Monday's starts again
    const weekend = hub.tick(T('2026-11-09T12:00:00+01:00'));
    expect(entries(weekend.events, 'office').map((e) => e.kind === 'entry' && e.event_detail)).toEqual(['start', 'end', 'start', 'end', 'start', 'end', 'start', 'end', 'start']);
  });

  it('a person with the EOM flag toggles Easy Office Mode inside the window; outside it opens normally', () => {
    const hub = hubWithSite();
    const on = hub.presentTag('lab', '1001', { at: MON_10 });
    expect(entries(on.events, 'lab').map((e) => e.kind === 'entry' && [e.event_category, e.event_detail])).toEqual([
      ['lock_opened', null],
      ['easy_office_mode', 'start'],
    ]);
    expect(hub.lockStatus('lab').office_mode).toBe('easy_office_mode');
    const off = hub.presentTag('lab', '1001', { at: MON_10 + 3600 * S });
    expect(entries(off.events, 'lab').map((e) => e.kind === 'entry' && e.event_detail)).toEqual([null, 'end']);
    expect(hub.lockStatus('lab', MON_10 + 3600 * S).locked_state).toBe('locked');
    const evening = hub.presentTag('lab', '1001', { at: T('2026-11-02T19:00:00+01:00') });
    expect(entries(evening.events, 'lab')).toHaveLength(1);
    expect(hub.lockStatus('lab', T('2026-11-02T19:00:01+01:00')).locked_state).toBe('unlocked');
    // A person without the EOM flag just opens, inside the window too.
    const plain = hub.presentTag('lab', '1008', { at: T('2026-12-01T10:00:00+01:00') });
    expect(plain.decision).toMatchObject({ granted: true });
    expect(entries(plain.events, 'lab')).toHaveLength(1);
    expect(hub.lockStatus('lab', T('2026-12-01T10:00:01+01:00')).locked_state).toBe('unlocked');
  });

  it('Manual Office Mode is toggled by a held credential of a person with the MOM flag, and outlasts the EOM window', () => {
    const hub = hubWithSite();
    expect(entries(hub.presentTag('front', '1002', { at: MON_10, hold: true }).events)).toHaveLength(1);
    expect(hub.lockStatus('front').office_mode).toBe('none');
    const on = hub.presentTag('front', '1001', { at: MON_10, hold: true });
    expect(entries(on.events, 'front').map((e) => e.kind === 'entry' && [e.event_category, e.event_detail])).toEqual([
      ['lock_opened', null],
      ['manual_office_mode', 'start'],
    ]);
    hub.tick(T('2026-11-03T23:00:00+01:00'));
    expect(hub.lockStatus('front').locked_state).toBe('office_mode');
    const off = hub.presentTag('front', '1001', { at: T('2026-11-04T08:00:00+01:00'), hold: true });
    expect(entries(off.events, 'front').map((e) => e.kind === 'entry' && e.event_detail)).toEqual([null, 'end']);
    expect(hub.lockStatus('front', T('2026-11-04T08:00:01+01:00')).locked_state).toBe('locked');
  });

  it('an EOM window on a spring-forward day keeps the wall times that exist', () => {
    const dst: SiteFixture = { locks: [{ pk: 1, id: 'door', eom: { mask: 0x40, start: '02:30:00', end: '03:29:59', autoStart: true } }] };
    const hub = new SimulatedHub({ clock: () => T('2027-03-27T12:00:00Z') });
    hub.installTable(siteTable(dst));
    const r = hub.tick(T('2027-03-28T06:00:00Z'));
    // 02:30 does not exist that Sunday: the window runs from 03:00 CEST (01:00Z) to 03:30 CEST.
    expect(r.events.map((e) => [e.kind === 'entry' && e.event_detail, new Date(e.time).toISOString()])).toEqual([
      ['start', '2027-03-28T01:00:00.000Z'],
      ['end', '2027-03-28T01:30:00.000Z'],
    ]);
  });

  it('a new table that drops the EOM schedule ends Easy Office Mode at once', () => {
    const hub = hubWithSite({ at: T('2026-11-02T09:00:00+01:00') });
    expect(hub.lockStatus('office').office_mode).toBe('easy_office_mode'); // auto-started on activation, inside the window
    const r = hub.installTable(siteTable({ ...site, locks: site.locks.map((l) => ({ ...l, eom: null })) }), { at: T('2026-11-02T09:30:00+01:00') });
    expect(r).toMatchObject({ ok: true, version: 2 });
    expect(hub.lockStatus('office').office_mode).toBe('none');
    expect(hub.eventsSince(0).at(-1)).toMatchObject({ lock_id: 'office', event_category: 'easy_office_mode', event_detail: 'end' });
  });
});

describe('tables on the hub', () => {
  it('refuses a table for another IQ or a damaged one, keeping the active table', () => {
    const hub = hubWithSite();
    const active = hub.tableInfo()!.hash;
    expect(hub.installTable(siteTable({ ...site, header: { iqId: 'iq-2' } }))).toMatchObject({ ok: false, error: { code: 'wrong_iq' } });
    const bad = siteTable({ ...site, registered: [2001] });
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    expect(hub.installTable(bad)).toMatchObject({ ok: false, error: { code: 'hash_mismatch' } });
    expect(hub.tableInfo()!.hash).toBe(active);
    expect(hub.presentTag('front', '1001', { at: MON_10 }).decision.granted).toBe(true);
  });

  it('applies a diff to the active table; a diff for another version, damaged or partial, changes nothing', () => {
    const flash = new MemoryFlash();
    const hub = hubWithSite({ flash });
    const v1 = siteTable(site);
    const blocked = siteTable({ ...site, users: site.users!.map((u) => (u.pk === 1 ? { ...u, flags: (u.flags ?? 0) | USER_FLAG.blocked } : u)) });
    const other = siteTable({ ...site, registered: [2001] });
    const active = hub.tableInfo()!;
    const unchanged = () => {
      expect(hub.tableInfo()).toEqual(active);
      expect(hub.presentTag('front', '1001', { at: MON_10 }).decision.granted).toBe(true);
    };
    expect(hub.applyDiff(diffBetween(other, blocked))).toMatchObject({ ok: false, error: { code: 'wrong_base' } });
    unchanged();
    expect(hub.applyDiff(diffBetween(v1, blocked, (d) => d.upserted.pop()))).toMatchObject({ ok: false, error: { code: 'target_mismatch' } });
    unchanged();
    const good = diffBetween(v1, blocked);
    for (const i of [0, 5, 40, 70, good.length - 2]) {
      const bad = good.slice();
      bad[i] = bad[i]! ^ 0x20;
      expect(hub.applyDiff(bad).ok, `byte ${i}`).toBe(false);
      unchanged();
    }
    flash.armPowerCut({ op: 'replace', name: 'table.bin', afterBytes: 64 });
    expect(() => hub.applyDiff(good)).toThrow(PowerLossError);
    hub.reboot();
    unchanged();
    expect(hub.applyDiff(good, { at: MON_10 })).toMatchObject({ ok: true, changed: true, version: 2 });
    expect(hub.presentTag('front', '1001', { at: MON_10 }).decision).toMatchObject({ granted: false, reason: 'blocked', cause: 'user_blocked' });
    hub.reboot();
    expect(hub.tableInfo()!.hash).not.toBe(active.hash);
    expect(Buffer.from(hub.tableBytes()!).equals(Buffer.from(blocked))).toBe(true);
  });

  it('numbers versions: given by the installer, or one up', () => {
    const hub = hubWithSite();
    expect(hub.installTable(siteTable(site))).toMatchObject({ ok: true, changed: false, version: 1 });
    expect(hub.installTable(siteTable({ ...site, registered: [2001] }), { version: 7 })).toMatchObject({ ok: true, changed: true, version: 7 });
    expect(hub.installTable(siteTable({ ...site, registered: [2002] }))).toMatchObject({ version: 8 });
    expect(hub.tableInfo()).toMatchObject({ version: 8, iqId: 'iq-1', zone: 'Europe/Amsterdam', lockIds: ['front', 'office', 'lab'] });
    expect(hub.lockIds()).toEqual(['front', 'office', 'lab']);
  });

  it('a power cut while saving a new table leaves the old one active after the reboot', () => {
    const flash = new MemoryFlash();
    const hub = hubWithSite({ flash });
    const old = hub.tableInfo()!.hash;
    flash.armPowerCut({ op: 'replace', name: 'table.bin', afterBytes: 100 });
    expect(() => hub.installTable(siteTable({ ...site, registered: [2001] }))).toThrow(PowerLossError);
    expect(hub.isPowered).toBe(false);
    expect(() => hub.presentTag('front', '1001')).toThrow(HubError);
    expect(flash.names()).toContain('table.bin.tmp');
    hub.reboot();
    expect(flash.names()).not.toContain('table.bin.tmp');
    expect(hub.tableInfo()).toMatchObject({ hash: old, version: 1 });
  });

  it('a reboot reloads from flash; the lock devices keep their own state', () => {
    const hub = hubWithSite();
    hub.presentTag('front', '1001', { at: MON_10, hold: true });
    hub.setKey('scbk', Uint8Array.from([1, 2, 3]));
    const before = hub.eventsSince(0);
    hub.reboot();
    expect(hub.eventsSince(0)).toEqual(before);
    expect(hub.getKey('scbk')).toEqual(Uint8Array.from([1, 2, 3]));
    expect(hub.lockStatus('front').office_mode).toBe('manual_office_mode');
    const next = hub.presentTag('front', '1001', { at: MON_10 + 60 * S });
    expect(next.events[0]!.id).toBe(before.at(-1)!.id + 1);
  });
});

describe('tag registration mode', () => {
  /** A hub whose clock stands at MON_10 and whose monotonic timer the test moves. */
  function registeringHub(flash?: MemoryFlash) {
    const t = { now: 0 };
    const hub = new SimulatedHub({ clock: () => MON_10, timer: () => t.now, iqId: 'iq-1', flash });
    hub.installTable(siteTable(site));
    // The office's Easy Office Mode started at activation: out of the way.
    hub.ack(hub.eventStatus().newestId);
    return { hub, t };
  }

  it('files a tag_presented event instead of deciding: no entry, the door stays locked', () => {
    const { hub } = registeringHub();
    expect(hub.setTagRegistration('front', 60)).toBe(60);
    const r = hub.presentTag('front', '1001', { hold: true });
    expect(r.outcome).toBe('registration');
    expect(r.decision).toMatchObject({ granted: false, reason: 'tag_registration' });
    // The table's UID for the tag is what the card reads.
    expect(r.registered).toEqual({ card_uid: '04A1B2C3', tag_number: '0000001001' });
    expect(r.events).toEqual([{ kind: 'tag_presented', id: 2, time: MON_10, lock_id: 'front', card_uid: '04A1B2C3', tag_number: '0000001001' }]);
    expect(hub.eventsSince(0)).toEqual(r.events);
    expect(entries(hub.eventsSince(0))).toEqual([]);
    expect(hub.lockStatus('front')).toMatchObject({ locked_state: 'locked', office_mode: 'none', tag_registration_s: 60 });
    // Nor does the door open for a refused card, or for an entry elsewhere.
    expect(hub.lockStatus('office').tag_registration_s).toBe(0);
  });

  it('reports the UID in upper-case hex, the tag number only when the credential carries one', () => {
    const { hub } = registeringHub();
    hub.setTagRegistration('lab', 30);
    const byUid = hub.presentTag('lab', Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x0a]));
    expect(byUid.registered).toEqual({ card_uid: 'DEADBEEF01020A', tag_number: null });
    const both = hub.presentTag('lab', { tagNumber: '42', uid: Uint8Array.from([0xab, 0xcd, 0xef, 0x12]) });
    expect(both.registered).toEqual({ card_uid: 'ABCDEF12', tag_number: '0000000042' });
    // A number the table has no UID for reads with the simulator's stable UID.
    const unknown = hub.presentTag('lab', '3000');
    expect(unknown.registered).toEqual({ card_uid: '47480000000BB8', tag_number: '0000003000' });
    expect(Buffer.from(simulatedCardUid('0000003000')).toString('hex')).toBe('47480000000bb8');
    // Nothing a reader could report (a UID of 5 bytes, an unreadable number): nothing is filed, nothing opens.
    for (const odd of [Uint8Array.from([1, 2, 3, 4, 5]), 'abc']) {
      const r = hub.presentTag('lab', odd);
      expect(r).toMatchObject({ outcome: 'registration', registered: null, events: [], held: [] });
      expect(r.decision.granted).toBe(false);
    }
    expect(hub.eventsSince(0).map((e) => e.kind)).toEqual(['tag_presented', 'tag_presented', 'tag_presented']);
  });

  it('stays on for several tags until its timeout; then presenting decides again', () => {
    const { hub, t } = registeringHub();
    hub.setTagRegistration('front', 15);
    hub.presentTag('front', '1001');
    t.now = 10_000;
    hub.presentTag('front', '1002');
    expect(hub.tagRegistrationLeft('front')).toBe(5);
    t.now = 14_999;
    expect(hub.presentTag('front', '1004').outcome).toBe('registration');
    t.now = 15_000;
    expect(hub.tagRegistrationLeft('front')).toBe(0);
    const after = hub.presentTag('front', '1001', { at: MON_10 + S });
    expect(after).toMatchObject({ outcome: 'decided', registered: null, decision: { granted: true, reason: 'access' } });
    expect(after.events).toMatchObject([{ kind: 'entry', event_category: 'lock_opened', tag_number: '0000001001' }]);
    expect(hub.lockStatus('front', MON_10 + 2 * S).locked_state).toBe('unlocked');
    expect(hub.eventsSince(0).map((e) => e.kind)).toEqual(['tag_presented', 'tag_presented', 'tag_presented', 'entry']);
  });

  it('ends when stopped with 0; a repeat restarts the countdown; reboot and unpairing end it too', () => {
    const { hub, t } = registeringHub();
    hub.setTagRegistration('front', 60);
    t.now = 50_000;
    expect(hub.setTagRegistration('front', 60)).toBe(60);
    expect(hub.setTagRegistration('front', 0)).toBe(0);
    expect(hub.presentTag('front', '1004')).toMatchObject({ outcome: 'decided', decision: { reason: 'blocked' } });
    expect(entries(hub.eventsSince(0))).toHaveLength(1);

    hub.setTagRegistration('lab', 60);
    hub.reboot();
    expect(hub.tagRegistrationLeft('lab')).toBe(0);
    expect(hub.presentTag('lab', '1001').outcome).toBe('decided');

    hub.pairLock('garage');
    hub.setTagRegistration('garage', 60);
    hub.unpairLock('garage');
    hub.pairLock('garage');
    expect(hub.tagRegistrationLeft('garage')).toBe(0);
    expect(() => hub.setTagRegistration('nowhere', 60)).toThrow(HubError);
  });

  it('the event is on flash: it survives a reboot; a lock without radio hands it over when the link is back', () => {
    const flash = new MemoryFlash();
    const { hub } = registeringHub(flash);
    hub.setTagRegistration('front', 60);
    const filed = hub.presentTag('front', Uint8Array.from([1, 2, 3, 4])).events;
    hub.reboot();
    expect(hub.eventsSince(0)).toEqual(filed);

    hub.setTagRegistration('lab', 60);
    hub.loseRadio('lab');
    const held = hub.presentTag('lab', '1001');
    expect(held).toMatchObject({ outcome: 'registration', events: [], held: [{ kind: 'tag_presented', lock_id: 'lab' }] });
    const back = hub.restoreRadio('lab');
    expect(back.events.map((e) => e.kind)).toEqual(['incident', 'tag_presented']);
    expect(hub.ack(back.events.at(-1)!.id)).toMatchObject({ ok: true });
    expect(hub.eventStatus()).toMatchObject({ stored: 0 });
  });
});
