// fast-check arbitraries for every IQ message: valid values only, biased towards the edges the
// protocol defines (empty lists, full pages, 0 and 2^53-1 ids, longest strings). The records are
// keyed by message type, so a new message cannot be added without an arbitrary for it.
import fc from 'fast-check';
import {
  ACCESS_BY,
  ACTIVATION_OUTCOMES,
  BATTERY_LEVELS,
  CARD_UID_LENGTHS,
  COMMAND_FIELDS,
  COMMANDS,
  ERROR_CODES,
  ERROR_VALUE_MEANING,
  EVENT_CATEGORIES,
  EVENT_DETAILS,
  FT_TYPES,
  INCIDENT_TYPES,
  LIMITS,
  LOCK_STATES,
  OFFICE_MODES,
  SITE_KEY_BYTES,
  SITE_KEY_FINGERPRINT_BYTES,
  STAGED_TYPES,
  TAG_NUMBER_MAX,
  type CommandType,
  type ReplyType,
} from '../codes.ts';
import type { CommandOf, HubEvent, LockStatus, PairedLock, ReplyOf, RingState } from '../messages.ts';
import type { FileTransfer, FtStat } from '../file-transfer.ts';

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

/** Strings of minBytes..maxBytes UTF-8 bytes, mixing ASCII with multi-byte and astral characters. */
export function utf8String(minBytes: number, maxBytes: number): fc.Arbitrary<string> {
  const unit = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '-', '/', '.') },
    { weight: 1, arbitrary: fc.constantFrom('é', 'ß', '東', '🗝️', '\u0000', '\u007f') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  );
  return fc
    .array(unit, { maxLength: maxBytes })
    .map((parts) => {
      let s = '';
      for (const p of parts) if (utf8Length(s + p) <= maxBytes) s += p;
      return s;
    })
    .filter((s) => utf8Length(s) >= minBytes);
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const hash = bytes(32);
const ref = bytes(16);
const lockIndex = fc.integer({ min: 1, max: LIMITS.maxLockIndex });
const id = fc.oneof(fc.nat(10_000), fc.maxSafeNat());
const epoch = fc.nat({ max: LIMITS.maxEpoch });
const signedBig = fc.integer({ min: -LIMITS.maxSigned, max: LIMITS.maxSigned });
const offsetMin = fc.integer({ min: -LIMITS.maxOffsetMin, max: LIMITS.maxOffsetMin });
const tagNumber = fc.integer({ min: 0, max: TAG_NUMBER_MAX }).map((n) => String(n).padStart(10, '0'));
const cardUid = fc.constantFrom(...CARD_UID_LENGTHS).chain((n) => bytes(n));
const zone = fc.oneof(
  fc.constantFrom('UTC', 'Europe/Amsterdam', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'America/Port-au-Prince'),
  fc.stringMatching(/^[A-Za-z0-9_+-]{1,10}(\/[A-Za-z0-9_+-]{1,10}){0,2}$/),
);
const lockId = utf8String(1, 64);
const operatorRef = utf8String(1, 64);
const siteId = fc.oneof(fc.uuid(), fc.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/));
const generation = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: LIMITS.maxSiteKeyGeneration }));
const siteKeyHeld = fc.record({ generation, fingerprint: bytes(SITE_KEY_FINGERPRINT_BYTES) });
const pick = <T extends string>(t: { names: readonly T[] }) => fc.constantFrom(...t.names);

const ring: fc.Arbitrary<RingState> = fc
  .tuple(epoch, fc.oneof(fc.nat(5000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1 })))
  .chain(([epoch, newest_id]) =>
    fc.record({
      epoch: fc.constant(epoch),
      newest_id: fc.constant(newest_id),
      oldest_id: fc.integer({ min: 1, max: newest_id + 1 }),
      acked_id: fc.integer({ min: 0, max: newest_id }),
    }),
  );

/** Sorted unique lock indices, a total at least that many, and a next index that moves on. */
function page<T extends { lock_index: number }>(max: number, item: (index: number) => fc.Arbitrary<T>) {
  return fc
    .uniqueArray(lockIndex, { maxLength: max })
    .map((xs) => xs.sort((a, b) => a - b))
    .chain((indices) =>
      fc.record({
        locks: indices.length === 0 ? fc.constant([] as T[]) : fc.tuple(...indices.map(item)),
        lock_total: fc.integer({ min: indices.length, max: LIMITS.maxLockIndex }),
        next_lock_index:
          indices.length === 0 || indices[indices.length - 1] === LIMITS.maxLockIndex
            ? fc.constant(0)
            : fc.oneof(fc.constant(0), fc.integer({ min: indices[indices.length - 1]! + 1, max: LIMITS.maxLockIndex })),
      }),
    );
}

const lockStatus = (lock_index: number): fc.Arbitrary<LockStatus> =>
  fc.record({
    lock_index: fc.constant(lock_index),
    online: fc.boolean(),
    left_open: fc.boolean(),
    intrusion: fc.boolean(),
    tamper: fc.boolean(),
    privacy_mode: fc.boolean(),
    tag_registration: fc.boolean(),
    battery: pick(BATTERY_LEVELS),
    lock_state: pick(LOCK_STATES),
    office_mode: pick(OFFICE_MODES),
  });

const pairedLock = (lock_index: number): fc.Arbitrary<PairedLock> =>
  fc.record({
    lock_index: fc.constant(lock_index),
    address: fc.constantFrom(6, 8).chain(bytes),
    serial: utf8String(0, 32),
    lock_id: lockId,
  });

const table = fc.option(fc.record({ version: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), hash }), { nil: null });

function event(eventId: number): fc.Arbitrary<HubEvent> {
  const base = { id: fc.constant(eventId), time_ms: fc.oneof(fc.constant(1_767_225_600_000), fc.maxSafeNat()), clock_valid: fc.boolean(), lock_index: lockIndex };
  return fc.oneof(
    fc.record({
      ...base,
      kind: fc.constant('entry' as const),
      event_category: pick(EVENT_CATEGORIES),
      event_detail: fc.option(pick(EVENT_DETAILS), { nil: null }),
      access_by: fc.option(pick(ACCESS_BY), { nil: null }),
      tag_number: fc.option(tagNumber, { nil: null }),
      card_uid: fc.option(cardUid, { nil: null }),
      actor: fc.option(operatorRef, { nil: null }),
    }),
    fc.record({ ...base, kind: fc.constant('incident' as const), incident_type: pick(INCIDENT_TYPES) }),
    fc.record({ ...base, kind: fc.constant('tag_presented' as const), card_uid: cardUid, tag_number: fc.option(tagNumber, { nil: null }) }),
  );
}

const lockCommand = <T extends 'remote_open' | 'privacy_override'>(type: T) =>
  fc.record({ type: fc.constant(type), lock_index: lockIndex, operator_ref: operatorRef, confirmation: ref }) as fc.Arbitrary<CommandOf<T>>;
const officeCommand = <T extends 'manual_office_mode' | 'easy_office_mode'>(type: T) =>
  fc.record({ type: fc.constant(type), lock_index: lockIndex, on: fc.boolean(), operator_ref: operatorRef, confirmation: ref }) as fc.Arbitrary<CommandOf<T>>;

export const commandArbitraries: { [K in CommandType]: fc.Arbitrary<CommandOf<K>> } = {
  get_status: fc.record({ type: fc.constant('get_status'), first_lock_index: lockIndex }),
  set_time: fc
    .tuple(fc.uniqueArray(signedBig, { minLength: 2, maxLength: 2 }), fc.uniqueArray(signedBig, { maxLength: LIMITS.maxTransitions }))
    .chain(([window, instants]) => {
      const [from, until] = window.sort((a, b) => a - b);
      const sorted = instants.sort((a, b) => a - b);
      return fc.record({
        type: fc.constant('set_time' as const),
        utc_ms: fc.maxSafeNat(),
        zone,
        valid_from_ms: fc.constant(from!),
        valid_until_ms: fc.constant(until!),
        initial_offset_min: offsetMin,
        transitions: sorted.length === 0 ? fc.constant([]) : fc.tuple(...sorted.map((instant_s) => fc.record({ instant_s: fc.constant(instant_s), offset_min: offsetMin }))),
      });
    }),
  list_locks: fc.record({ type: fc.constant('list_locks'), first_lock_index: lockIndex }),
  pair_lock: fc.record({ type: fc.constant('pair_lock'), address: fc.constantFrom(6, 8).chain(bytes), serial: utf8String(0, 32), lock_id: lockId }),
  unpair_lock: fc.record({ type: fc.constant('unpair_lock'), lock_index: lockIndex, lock_id: lockId }),
  file_status: fc.constant({ type: 'file_status' }),
  activate_table: fc.record({ type: fc.constant('activate_table'), ft_type: pick(FT_TYPES), version: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), hash }),
  fetch_events: fc.record({ type: fc.constant('fetch_events'), epoch, after_id: id, max_events: fc.integer({ min: 1, max: LIMITS.maxEventsPerFetch }) }),
  ack_events: fc.record({ type: fc.constant('ack_events'), epoch, through_id: id }),
  remote_open: lockCommand('remote_open'),
  privacy_override: lockCommand('privacy_override'),
  manual_office_mode: officeCommand('manual_office_mode'),
  easy_office_mode: officeCommand('easy_office_mode'),
  tag_registration: fc.record({
    type: fc.constant('tag_registration'),
    lock_index: lockIndex,
    timeout_s: fc.oneof(fc.constant(0), fc.integer({ min: LIMITS.tagRegistrationMinS, max: LIMITS.tagRegistrationMaxS })),
  }),
  reset_challenge: fc.constant({ type: 'reset_challenge' }),
  factory_reset: fc.record({ type: fc.constant('factory_reset'), nonce: ref, serial: utf8String(1, 32) }),
  site_key_status: fc.constant({ type: 'site_key_status' }),
  set_site_key: fc.record({ type: fc.constant('set_site_key'), generation, site_id: siteId, key: bytes(SITE_KEY_BYTES) }),
};

const lockResult = <T extends 'remote_opened' | 'privacy_overridden' | 'manual_office_mode_set' | 'easy_office_mode_set'>(type: T) =>
  fc.record({
    type: fc.constant(type),
    lock_index: lockIndex,
    confirmation: ref,
    replayed: fc.boolean(),
    lock_state: pick(LOCK_STATES),
    office_mode: pick(OFFICE_MODES),
  }) as fc.Arbitrary<ReplyOf<T>>;

const errorReply: fc.Arbitrary<ReplyOf<'error'>> = fc
  .tuple(pick(ERROR_CODES), fc.oneof(fc.constantFrom(...COMMANDS.byCode.keys()), fc.nat(255)))
  .map(([error, command]) => {
    const cmd = COMMANDS.byCode.get(command);
    return { error, command, fieldCount: cmd ? COMMAND_FIELDS[cmd].length : 255 };
  })
  // bad_field cannot name a field of a command that has none.
  .filter(({ error, fieldCount }) => error !== 'bad_field' || fieldCount > 0)
  .chain(({ error, command, fieldCount }) => {
    const field = error === 'bad_field' ? fc.integer({ min: 1, max: fieldCount }) : fc.constant(0);
    return fc
      .tuple(fc.integer({ min: 1, max: 255 }), fc.integer({ min: 1, max: 255 }))
      .chain(([a, b]) =>
        fc.record({
          type: fc.constant('error' as const),
          version: fc.integer({ min: 1, max: 255 }),
          command: fc.constant(command),
          error: fc.constant(error),
          field,
          min_version: fc.constant(Math.min(a, b)),
          max_version: fc.constant(Math.max(a, b)),
          value: ERROR_VALUE_MEANING[error] === undefined ? fc.constant(0) : fc.maxSafeNat(),
          message: utf8String(0, LIMITS.maxErrorMessageBytes),
        }),
      );
  });

export const replyArbitraries: { [K in ReplyType]: fc.Arbitrary<ReplyOf<K>> } = {
  status: fc
    .tuple(
      fc.record({
        firmware: utf8String(1, 32),
        serial: utf8String(1, 32),
        mac: bytes(6),
        signal_dbm: fc.option(fc.integer({ min: LIMITS.minSignalDbm, max: LIMITS.maxSignalDbm }), { nil: null }),
        uptime_s: fc.maxSafeNat(),
        clock_valid: fc.boolean(),
        utc_ms: fc.maxSafeNat(),
        table,
      }),
      ring,
      page(LIMITS.maxLocksPerStatusPage, lockStatus),
    )
    .map(([head, r, p]) => ({ type: 'status' as const, ...head, ...r, ...p })),
  time_set: fc.record({ type: fc.constant('time_set'), previous_clock_valid: fc.boolean(), previous_utc_ms: fc.maxSafeNat() }),
  lock_list: page(LIMITS.maxLocksPerListPage, pairedLock).map((p) => ({ type: 'lock_list' as const, ...p })),
  lock_paired: lockIndex.chain((i) => fc.record({ type: fc.constant('lock_paired' as const), already_paired: fc.boolean(), lock: pairedLock(i) })),
  lock_unpaired: fc.record({ type: fc.constant('lock_unpaired'), lock_index: lockIndex }),
  file_state: fc.oneof(
    fc.record({
      type: fc.constant('file_state' as const),
      ft_type: fc.constant('none' as const),
      total_size: fc.constant(0),
      received: fc.constant(0),
      prefix_sha256: fc.constant(new Uint8Array(32)),
      max_file_size: fc.nat({ max: LIMITS.maxFileSize }),
    }),
    fc.tuple(fc.nat({ max: LIMITS.maxFileSize }), fc.nat({ max: LIMITS.maxFileSize })).chain(([a, b]) =>
      fc.record({
        type: fc.constant('file_state' as const),
        ft_type: fc.constantFrom(...STAGED_TYPES.names.filter((n) => n !== 'none')),
        total_size: fc.constant(Math.max(a, b, 1)),
        received: fc.constant(Math.min(a, b)),
        prefix_sha256: hash,
        max_file_size: fc.nat({ max: LIMITS.maxFileSize }),
      }),
    ),
  ),
  activation: pick(ACTIVATION_OUTCOMES).chain((outcome) =>
    fc.record({
      type: fc.constant('activation' as const),
      outcome: fc.constant(outcome),
      table: outcome === 'activated' || outcome === 'already_active' ? table.filter((t) => t !== null) : table,
    }),
  ),
  events: ring.chain((r) => {
    const available = r.newest_id - r.oldest_id + 1;
    return fc.integer({ min: 0, max: Math.min(LIMITS.maxEventsPerFetch, Math.max(0, available)) }).chain((n) =>
      n === 0
        ? fc.constant({ type: 'events' as const, ...r, events: [] as HubEvent[] })
        : fc
            .integer({ min: r.oldest_id, max: r.newest_id - n + 1 })
            .chain((first) => fc.tuple(...Array.from({ length: n }, (_, i) => event(first + i))))
            .map((events) => ({ type: 'events' as const, ...r, events })),
    );
  }),
  events_acked: fc.record({ type: fc.constant('events_acked'), epoch, acked_id: id, oldest_id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }),
  remote_opened: lockResult('remote_opened'),
  privacy_overridden: lockResult('privacy_overridden'),
  manual_office_mode_set: lockResult('manual_office_mode_set'),
  easy_office_mode_set: lockResult('easy_office_mode_set'),
  tag_registration_set: fc.record({ type: fc.constant('tag_registration_set'), lock_index: lockIndex, remaining_s: fc.nat({ max: LIMITS.tagRegistrationMaxS }) }),
  reset_nonce: fc.record({ type: fc.constant('reset_nonce'), nonce: ref, valid_s: fc.integer({ min: 1, max: LIMITS.maxNonceValidS }) }),
  factory_reset_done: fc.constant({ type: 'factory_reset_done' }),
  site_key_state: fc.record({ type: fc.constant('site_key_state'), site_key: fc.option(siteKeyHeld, { nil: null }) }),
  site_key_set: fc.record({ type: fc.constant('site_key_set'), site_key: siteKeyHeld }),
  events_pending: fc.record({ type: fc.constant('events_pending'), epoch, newest_id: id }),
  error: errorReply,
};

export const anyCommand = fc.oneof(...Object.values(commandArbitraries));
export const anyReply = fc.oneof(...Object.values(replyArbitraries));

export const fileTransferArbitrary: fc.Arbitrary<FileTransfer> = fc
  .tuple(fc.nat(255), fc.uint8Array({ maxLength: 300 }), fc.nat({ max: LIMITS.maxFileSize }))
  .chain(([ft_type, data, a]) => {
    const total_size = Math.max(a, data.length, 1);
    return fc.record({
      ft_type: fc.constant(ft_type),
      total_size: fc.constant(total_size),
      offset: fc.integer({ min: 0, max: total_size - data.length }),
      data: fc.constant(data),
    });
  });

export const ftStatArbitrary: fc.Arbitrary<FtStat> = fc.record({
  interleave: fc.boolean(),
  leave_secure_channel: fc.boolean(),
  poll_response_available: fc.boolean(),
  delay_ms: fc.nat(0xffff),
  status: fc.integer({ min: -0x8000, max: 0x7fff }),
  update_msg_max: fc.nat(0xffff),
});
