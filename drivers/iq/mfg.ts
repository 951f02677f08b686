// Codecs of the IQ protocol's MFG payloads: the data of osdp_MFG (host → hub) and osdp_MFGREP
// (hub → host), from the vendor code on. docs/iq-protocol.md is the byte-level reference.
//
// Encoders take values a program built and throw RangeError on one the protocol cannot carry (a
// programming error). Decoders take bytes from a link and never throw: every failure is a DecodeError.
// Each invariant is checked by both sides (the `check*` functions), so an encoder cannot produce
// bytes the decoder refuses.
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
  EVENT_FLAGS,
  EVENT_KINDS,
  FT_TYPES,
  HASH_BYTES,
  INCIDENT_TYPES,
  LIMITS,
  LOCK_ADDRESS_LENGTHS,
  LOCK_FLAGS,
  LOCK_STATES,
  MAC_BYTES,
  OFFICE_MODES,
  PROTOCOL_VERSION,
  REF_BYTES,
  REPLIES,
  SITE_ID_PATTERN,
  SITE_KEY_BYTES,
  SITE_KEY_FINGERPRINT_BYTES,
  STAGED_TYPES,
  TAG_NUMBER_MAX,
  VENDOR_CODE,
  ZONE_PATTERN,
  type CommandType,
  type ReplyType,
} from './codes.ts';
import type {
  CommandOf,
  HubEvent,
  IqCommand,
  IqReply,
  LockCommandFields,
  LockCommandResult,
  LockStatus,
  PairedLock,
  ReplyOf,
  RingState,
  SiteKeyHeld,
  TableVersion,
  Transition,
} from './messages.ts';
import { decodeWith, fail, type Reader, Writer, type DecodeError, type DecodeResult } from './wire.ts';

// ── Shared invariants (both directions) ───────────────────────────────────────────────────────────

/** A broken invariant: the field at fault and why. */
type Violation = readonly [field: string, message: string] | null;

/** Decoders report a broken invariant as a bad field; encoders throw (`assertOk`). */
function violated(v: NonNullable<Violation>): never {
  return fail('bad_field', v[0], v[1]);
}

function assertOk(v: Violation): void {
  if (v) throw new RangeError(`${v[0]}: ${v[1]}`);
}

function checkRing(s: RingState): Violation {
  if (s.oldest_id < 1) return ['oldest_id', 'oldest_id must be at least 1 (ids start at 1)'];
  if (s.oldest_id > s.newest_id + 1) return ['oldest_id', `oldest_id ${s.oldest_id} is beyond newest_id ${s.newest_id} + 1`];
  if (s.acked_id > s.newest_id) return ['acked_id', `acked_id ${s.acked_id} is beyond newest_id ${s.newest_id}`];
  return null;
}

/** Pages of locks: indices strictly increasing, and a next index that moves on (or 0 on the last page). */
function checkPage(locks: readonly { lock_index: number }[], lockTotal: number, next: number): Violation {
  let prev = 0;
  for (let i = 0; i < locks.length; i++) {
    const idx = locks[i]!.lock_index;
    if (idx <= prev) return [`locks[${i}].lock_index`, `lock indices must increase: ${idx} after ${prev}`];
    prev = idx;
  }
  if (lockTotal < locks.length) return ['lock_total', `lock_total ${lockTotal} is less than the ${locks.length} lock(s) in this page`];
  if (next !== 0 && (locks.length === 0 || next <= prev)) {
    return ['next_lock_index', `next_lock_index ${next} must be 0 or beyond the last lock index of a non-empty page`];
  }
  return null;
}

function checkTransitions(validFrom: number, validUntil: number, ts: readonly Transition[]): Violation {
  if (validFrom >= validUntil) return ['valid_until_ms', `valid_until_ms ${validUntil} must be after valid_from_ms ${validFrom}`];
  for (let i = 1; i < ts.length; i++) {
    if (ts[i]!.instant_s <= ts[i - 1]!.instant_s) return [`transitions[${i}].instant_s`, 'transition instants must increase'];
  }
  return null;
}

function checkTagRegistration(timeout: number): Violation {
  if (timeout !== 0 && (timeout < LIMITS.tagRegistrationMinS || timeout > LIMITS.tagRegistrationMaxS)) {
    return ['timeout_s', `timeout_s must be 0 (stop) or ${LIMITS.tagRegistrationMinS}..${LIMITS.tagRegistrationMaxS}, got ${timeout}`];
  }
  return null;
}

function checkEvents(r: RingState, events: readonly HubEvent[]): Violation {
  for (let i = 0; i < events.length; i++) {
    const id = events[i]!.id;
    if (i > 0 && id !== events[i - 1]!.id + 1) return [`events[${i}].id`, `event ids must be consecutive: ${id} after ${events[i - 1]!.id}`];
    if (id < r.oldest_id || id > r.newest_id) return [`events[${i}].id`, `event id ${id} is outside oldest_id..newest_id ${r.oldest_id}..${r.newest_id}`];
  }
  return null;
}

function checkFileState(v: ReplyOf<'file_state'>): Violation {
  if (v.ft_type === 'none') {
    if (v.total_size !== 0 || v.received !== 0) return ['total_size', 'nothing is staged, so total_size and received must be 0'];
    if (v.prefix_sha256.some((b) => b !== 0)) return ['prefix_sha256', 'nothing is staged, so prefix_sha256 must be zeros'];
  } else if (v.total_size < 1) {
    return ['total_size', 'a staged file has at least 1 byte (FtSizeTotal ≥ 1)'];
  }
  if (v.received > v.total_size) return ['received', `received ${v.received} exceeds total_size ${v.total_size}`];
  return null;
}

function checkActivation(v: ReplyOf<'activation'>): Violation {
  if ((v.outcome === 'activated' || v.outcome === 'already_active') && v.table === null) {
    return ['table_version', `outcome ${v.outcome} needs the enforced table's version (not 0)`];
  }
  return null;
}

function checkError(v: ReplyOf<'error'>): Violation {
  if (v.version < 1) return ['version', 'version 0 is not a protocol version'];
  const cmd = COMMANDS.byCode.get(v.command);
  if (v.error === 'bad_field') {
    if (v.field < 1) return ['field', 'bad_field needs the 1-based position of the field'];
    if (cmd && v.field > COMMAND_FIELDS[cmd].length) return ['field', `${cmd} has ${COMMAND_FIELDS[cmd].length} field(s), not ${v.field}`];
  } else if (v.field !== 0) {
    return ['field', `field must be 0 for ${v.error}`];
  }
  if (v.min_version < 1 || v.min_version > v.max_version) return ['min_version', `version range ${v.min_version}..${v.max_version} is empty`];
  if (ERROR_VALUE_MEANING[v.error] === undefined && v.value !== 0) return ['value', `value must be 0 for ${v.error}`];
  return null;
}

// ── Field helpers ─────────────────────────────────────────────────────────────────────────────────

const lockIndex = (r: Reader, field = 'lock_index') => r.uint(field, LIMITS.maxLockIndex, 1);
const wLockIndex = (w: Writer, v: number, field = 'lock_index') => w.uint(v, field, LIMITS.maxLockIndex, 1);
const ZERO_HASH = new Uint8Array(HASH_BYTES);

function rTable(r: Reader): TableVersion | null {
  const version = r.uint('table_version');
  const hash = r.raw('table_hash', HASH_BYTES);
  if (version === 0) {
    if (hash.some((b) => b !== 0)) fail('bad_field', 'table_hash', 'table_version 0 (no table) needs a zero table_hash');
    return null;
  }
  return { version, hash };
}

function wTable(w: Writer, t: TableVersion | null): void {
  if (t === null) {
    w.uint(0).raw(ZERO_HASH);
    return;
  }
  w.uint(t.version, 'table_version', Number.MAX_SAFE_INTEGER, 1).raw(t.hash, 'table_hash', HASH_BYTES);
}

const ZERO_FINGERPRINT = new Uint8Array(SITE_KEY_FINGERPRINT_BYTES);

function rSiteKey(r: Reader): SiteKeyHeld | null {
  const generation = r.uint('generation', LIMITS.maxSiteKeyGeneration);
  const fingerprint = r.raw('fingerprint', SITE_KEY_FINGERPRINT_BYTES);
  if (generation === 0) {
    if (fingerprint.some((b) => b !== 0)) fail('bad_field', 'fingerprint', 'generation 0 (no site key) needs a zero fingerprint');
    return null;
  }
  return { generation, fingerprint };
}

function wSiteKey(w: Writer, k: SiteKeyHeld | null): void {
  if (k === null) {
    w.uint(0).raw(ZERO_FINGERPRINT);
    return;
  }
  w.uint(k.generation, 'generation', LIMITS.maxSiteKeyGeneration, 1).raw(k.fingerprint, 'fingerprint', SITE_KEY_FINGERPRINT_BYTES);
}

/** A UUID in its canonical text form: 36 bytes. */
const SITE_ID_BYTES = 36;

function rTagNumber(r: Reader, field: string): string | null {
  if (!r.bool(field)) return null;
  return String(r.uint(field, TAG_NUMBER_MAX)).padStart(10, '0');
}

function wTagNumber(w: Writer, v: string | null, field: string): void {
  if (v === null) {
    w.u8(0);
    return;
  }
  if (!/^\d{10}$/.test(v)) throw new RangeError(`${field}: ${JSON.stringify(v)} is not ten digits`);
  w.u8(1).uint(Number(v));
}

function rRing(r: Reader): RingState {
  return {
    epoch: r.uint('epoch', LIMITS.maxEpoch),
    oldest_id: r.uint('oldest_id'),
    newest_id: r.uint('newest_id'),
    acked_id: r.uint('acked_id'),
  };
}

function wRing(w: Writer, s: RingState): void {
  assertOk(checkRing(s));
  w.uint(s.epoch, 'epoch', LIMITS.maxEpoch).uint(s.oldest_id, 'oldest_id').uint(s.newest_id, 'newest_id').uint(s.acked_id, 'acked_id');
}

function rPairedLock(r: Reader, p: string): PairedLock {
  return {
    lock_index: lockIndex(r, `${p}.lock_index`),
    address: r.bytes(`${p}.address`, LOCK_ADDRESS_LENGTHS),
    serial: r.str(`${p}.serial`, 0, 32),
    lock_id: r.str(`${p}.lock_id`, 1, 64),
  };
}

function wPairedLock(w: Writer, l: PairedLock, p: string): void {
  wLockIndex(w, l.lock_index, `${p}.lock_index`);
  w.bytes(l.address, `${p}.address`, LOCK_ADDRESS_LENGTHS).str(l.serial, `${p}.serial`, 0, 32).str(l.lock_id, `${p}.lock_id`, 1, 64);
}
/** index, address length + 6, serial length, lock_id length + 1. */
const PAIRED_LOCK_MIN_BYTES = 11;

const FLAG_RESERVED = 0xff & ~Object.values(LOCK_FLAGS).reduce((a, b) => a | b, 0);

function rLockStatus(r: Reader, p: string): LockStatus {
  const lock_index = lockIndex(r, `${p}.lock_index`);
  const flags = r.u8(`${p}.flags`);
  if (flags & FLAG_RESERVED) fail('bad_field', `${p}.flags`, `reserved flag bits set: 0x${flags.toString(16)}`);
  return {
    lock_index,
    online: (flags & LOCK_FLAGS.online) !== 0,
    left_open: (flags & LOCK_FLAGS.left_open) !== 0,
    intrusion: (flags & LOCK_FLAGS.intrusion) !== 0,
    tamper: (flags & LOCK_FLAGS.tamper) !== 0,
    privacy_mode: (flags & LOCK_FLAGS.privacy_mode) !== 0,
    tag_registration: (flags & LOCK_FLAGS.tag_registration) !== 0,
    battery: r.code(`${p}.battery`, BATTERY_LEVELS.byCode),
    lock_state: r.code(`${p}.lock_state`, LOCK_STATES.byCode),
    office_mode: r.code(`${p}.office_mode`, OFFICE_MODES.byCode),
  };
}

function wLockStatus(w: Writer, l: LockStatus, p: string): void {
  wLockIndex(w, l.lock_index, `${p}.lock_index`);
  let flags = 0;
  for (const [name, bit] of Object.entries(LOCK_FLAGS)) if (l[name as keyof typeof LOCK_FLAGS]) flags |= bit;
  w.u8(flags)
    .code(l.battery, BATTERY_LEVELS.byName, `${p}.battery`)
    .code(l.lock_state, LOCK_STATES.byName, `${p}.lock_state`)
    .code(l.office_mode, OFFICE_MODES.byName, `${p}.office_mode`);
}
const LOCK_STATUS_MIN_BYTES = 5;

function rLockCommand(r: Reader): LockCommandFields {
  return {
    lock_index: lockIndex(r),
    operator_ref: r.str('operator_ref', 1, 64),
    confirmation: r.raw('confirmation', REF_BYTES),
  };
}

function wLockCommand(w: Writer, v: LockCommandFields): void {
  w.str(v.operator_ref, 'operator_ref', 1, 64).raw(v.confirmation, 'confirmation', REF_BYTES);
}

function rLockResult(r: Reader): LockCommandResult {
  return {
    lock_index: lockIndex(r),
    confirmation: r.raw('confirmation', REF_BYTES),
    replayed: r.bool('replayed'),
    lock_state: r.code('lock_state', LOCK_STATES.byCode),
    office_mode: r.code('office_mode', OFFICE_MODES.byCode),
  };
}

function wLockResult(w: Writer, v: LockCommandResult): void {
  wLockIndex(w, v.lock_index);
  w.raw(v.confirmation, 'confirmation', REF_BYTES)
    .bool(v.replayed)
    .code(v.lock_state, LOCK_STATES.byName, 'lock_state')
    .code(v.office_mode, OFFICE_MODES.byName, 'office_mode');
}

// ── Events ────────────────────────────────────────────────────────────────────────────────────────

/** kind, flags, time, lock index, one code byte (an incident). */
const EVENT_MIN_BYTES = 5;
const ENTRY_CARD_UID_LENGTHS = [0, ...CARD_UID_LENGTHS];

function rEvent(r: Reader, id: number, p: string): HubEvent {
  const kind = r.code(`${p}.kind`, EVENT_KINDS.byCode);
  const flags = r.u8(`${p}.flags`);
  if (flags & ~EVENT_FLAGS.clock_valid) fail('bad_field', `${p}.flags`, `reserved flag bits set: 0x${flags.toString(16)}`);
  const base = {
    id,
    time_ms: r.uint(`${p}.time_ms`),
    clock_valid: (flags & EVENT_FLAGS.clock_valid) !== 0,
    lock_index: lockIndex(r, `${p}.lock_index`),
  };
  switch (kind) {
    case 'entry': {
      const event_category = r.code(`${p}.event_category`, EVENT_CATEGORIES.byCode);
      const d = r.u8(`${p}.event_detail`);
      const event_detail = d === 0 ? null : EVENT_DETAILS.byCode.get(d);
      if (event_detail === undefined) fail('bad_field', `${p}.event_detail`, `${p}.event_detail code ${d} is not defined`);
      const a = r.u8(`${p}.access_by`);
      const access_by = a === 0 ? null : ACCESS_BY.byCode.get(a);
      if (access_by === undefined) fail('bad_field', `${p}.access_by`, `${p}.access_by code ${a} is not defined`);
      const tag_number = rTagNumber(r, `${p}.tag_number`);
      const uid = r.bytes(`${p}.card_uid`, ENTRY_CARD_UID_LENGTHS);
      const actor = r.str(`${p}.actor`, 0, 64);
      return {
        ...base,
        kind,
        event_category,
        event_detail,
        access_by,
        tag_number,
        card_uid: uid.length === 0 ? null : uid,
        actor: actor === '' ? null : actor,
      };
    }
    case 'incident':
      return { ...base, kind, incident_type: r.code(`${p}.incident_type`, INCIDENT_TYPES.byCode) };
    case 'tag_presented':
      return { ...base, kind, card_uid: r.bytes(`${p}.card_uid`, CARD_UID_LENGTHS), tag_number: rTagNumber(r, `${p}.tag_number`) };
  }
}

function wEvent(w: Writer, e: HubEvent, p: string): void {
  w.code(e.kind, EVENT_KINDS.byName, `${p}.kind`)
    .u8(e.clock_valid ? EVENT_FLAGS.clock_valid : 0)
    .uint(e.time_ms, `${p}.time_ms`);
  wLockIndex(w, e.lock_index, `${p}.lock_index`);
  switch (e.kind) {
    case 'entry':
      w.code(e.event_category, EVENT_CATEGORIES.byName, `${p}.event_category`);
      if (e.event_detail === null) w.u8(0);
      else w.code(e.event_detail, EVENT_DETAILS.byName, `${p}.event_detail`);
      if (e.access_by === null) w.u8(0);
      else w.code(e.access_by, ACCESS_BY.byName, `${p}.access_by`);
      wTagNumber(w, e.tag_number, `${p}.tag_number`);
      w.bytes(e.card_uid ?? new Uint8Array(0), `${p}.card_uid`, e.card_uid === null ? [0] : CARD_UID_LENGTHS);
      if (e.actor === '') throw new RangeError(`${p}.actor: use null, not an empty string`);
      w.str(e.actor ?? '', `${p}.actor`, 0, 64);
      return;
    case 'incident':
      w.code(e.incident_type, INCIDENT_TYPES.byName, `${p}.incident_type`);
      return;
    case 'tag_presented':
      w.bytes(e.card_uid, `${p}.card_uid`, CARD_UID_LENGTHS);
      wTagNumber(w, e.tag_number, `${p}.tag_number`);
      return;
  }
}

// ── Command bodies ────────────────────────────────────────────────────────────────────────────────

type Codec<V> = { enc(w: Writer, v: V): void; dec(r: Reader): V };
type CommandCodecs = { [K in CommandType]: Codec<CommandOf<K>> };
/** ERROR is left out: its body is read with the header's version (decodeErrorBody). */
type ReplyCodecs = { [K in Exclude<ReplyType, 'error'>]: Codec<ReplyOf<K>> };

const lockCommand = <T extends 'remote_open' | 'privacy_override'>(type: T): Codec<CommandOf<T>> => ({
  enc: (w, v) => {
    const c = v as LockCommandFields;
    wLockIndex(w, c.lock_index);
    wLockCommand(w, c);
  },
  dec: (r) => ({ type, ...rLockCommand(r) }) as CommandOf<T>,
});

const officeCommand = <T extends 'manual_office_mode' | 'easy_office_mode'>(type: T): Codec<CommandOf<T>> => ({
  enc: (w, v) => {
    const c = v as LockCommandFields & { on: boolean };
    wLockIndex(w, c.lock_index);
    w.bool(c.on);
    wLockCommand(w, c);
  },
  dec: (r) => {
    const lock_index = lockIndex(r);
    const on = r.bool('on');
    return { type, lock_index, on, operator_ref: r.str('operator_ref', 1, 64), confirmation: r.raw('confirmation', REF_BYTES) } as CommandOf<T>;
  },
});

const signed = (r: Reader, field: string) => r.int(field, -LIMITS.maxSigned, LIMITS.maxSigned);
const offset = (r: Reader, field: string) => r.int(field, -LIMITS.maxOffsetMin, LIMITS.maxOffsetMin);

const COMMAND_CODECS: CommandCodecs = {
  get_status: {
    enc: (w, v) => wLockIndex(w, v.first_lock_index, 'first_lock_index'),
    dec: (r) => ({ type: 'get_status', first_lock_index: lockIndex(r, 'first_lock_index') }),
  },
  set_time: {
    enc: (w, v) => {
      assertOk(checkTransitions(v.valid_from_ms, v.valid_until_ms, v.transitions));
      w.uint(v.utc_ms, 'utc_ms')
        .str(v.zone, 'zone', 1, 64, ZONE_PATTERN)
        .int(v.valid_from_ms, 'valid_from_ms', -LIMITS.maxSigned, LIMITS.maxSigned)
        .int(v.valid_until_ms, 'valid_until_ms', -LIMITS.maxSigned, LIMITS.maxSigned)
        .int(v.initial_offset_min, 'initial_offset_min', -LIMITS.maxOffsetMin, LIMITS.maxOffsetMin)
        .count(v.transitions.length, 'transitions', LIMITS.maxTransitions);
      v.transitions.forEach((t, i) => {
        w.int(t.instant_s, `transitions[${i}].instant_s`, -LIMITS.maxSigned, LIMITS.maxSigned);
        w.int(t.offset_min, `transitions[${i}].offset_min`, -LIMITS.maxOffsetMin, LIMITS.maxOffsetMin);
      });
    },
    dec: (r) => {
      const utc_ms = r.uint('utc_ms');
      const zone = r.str('zone', 1, 64, ZONE_PATTERN);
      const valid_from_ms = signed(r, 'valid_from_ms');
      const valid_until_ms = signed(r, 'valid_until_ms');
      const initial_offset_min = offset(r, 'initial_offset_min');
      const n = r.count('transitions', LIMITS.maxTransitions, 2);
      const transitions: Transition[] = [];
      for (let i = 0; i < n; i++) {
        transitions.push({ instant_s: signed(r, `transitions[${i}].instant_s`), offset_min: offset(r, `transitions[${i}].offset_min`) });
      }
      const v = checkTransitions(valid_from_ms, valid_until_ms, transitions);
      if (v) violated(v);
      return { type: 'set_time', utc_ms, zone, valid_from_ms, valid_until_ms, initial_offset_min, transitions };
    },
  },
  list_locks: {
    enc: (w, v) => wLockIndex(w, v.first_lock_index, 'first_lock_index'),
    dec: (r) => ({ type: 'list_locks', first_lock_index: lockIndex(r, 'first_lock_index') }),
  },
  pair_lock: {
    enc: (w, v) => {
      w.bytes(v.address, 'address', LOCK_ADDRESS_LENGTHS).str(v.serial, 'serial', 0, 32).str(v.lock_id, 'lock_id', 1, 64);
    },
    dec: (r) => ({ type: 'pair_lock', address: r.bytes('address', LOCK_ADDRESS_LENGTHS), serial: r.str('serial', 0, 32), lock_id: r.str('lock_id', 1, 64) }),
  },
  unpair_lock: {
    enc: (w, v) => {
      wLockIndex(w, v.lock_index);
      w.str(v.lock_id, 'lock_id', 1, 64);
    },
    dec: (r) => ({ type: 'unpair_lock', lock_index: lockIndex(r), lock_id: r.str('lock_id', 1, 64) }),
  },
  file_status: { enc: () => {}, dec: () => ({ type: 'file_status' }) },
  activate_table: {
    enc: (w, v) => {
      w.code(v.ft_type, FT_TYPES.byName, 'ft_type').uint(v.version, 'version', Number.MAX_SAFE_INTEGER, 1).raw(v.hash, 'hash', HASH_BYTES);
    },
    dec: (r) => ({
      type: 'activate_table',
      ft_type: r.code('ft_type', FT_TYPES.byCode),
      version: r.uint('version', Number.MAX_SAFE_INTEGER, 1),
      hash: r.raw('hash', HASH_BYTES),
    }),
  },
  fetch_events: {
    enc: (w, v) => {
      w.uint(v.epoch, 'epoch', LIMITS.maxEpoch).uint(v.after_id, 'after_id').uint(v.max_events, 'max_events', LIMITS.maxEventsPerFetch, 1);
    },
    dec: (r) => ({
      type: 'fetch_events',
      epoch: r.uint('epoch', LIMITS.maxEpoch),
      after_id: r.uint('after_id'),
      max_events: r.uint('max_events', LIMITS.maxEventsPerFetch, 1),
    }),
  },
  ack_events: {
    enc: (w, v) => {
      w.uint(v.epoch, 'epoch', LIMITS.maxEpoch).uint(v.through_id, 'through_id');
    },
    dec: (r) => ({ type: 'ack_events', epoch: r.uint('epoch', LIMITS.maxEpoch), through_id: r.uint('through_id') }),
  },
  remote_open: lockCommand('remote_open'),
  privacy_override: lockCommand('privacy_override'),
  manual_office_mode: officeCommand('manual_office_mode'),
  easy_office_mode: officeCommand('easy_office_mode'),
  tag_registration: {
    enc: (w, v) => {
      assertOk(checkTagRegistration(v.timeout_s));
      wLockIndex(w, v.lock_index);
      w.uint(v.timeout_s, 'timeout_s');
    },
    dec: (r) => {
      const lock_index = lockIndex(r);
      const timeout_s = r.uint('timeout_s');
      const v = checkTagRegistration(timeout_s);
      if (v) violated(v);
      return { type: 'tag_registration', lock_index, timeout_s };
    },
  },
  reset_challenge: { enc: () => {}, dec: () => ({ type: 'reset_challenge' }) },
  factory_reset: {
    enc: (w, v) => {
      w.raw(v.nonce, 'nonce', REF_BYTES).str(v.serial, 'serial', 1, 32);
    },
    dec: (r) => ({ type: 'factory_reset', nonce: r.raw('nonce', REF_BYTES), serial: r.str('serial', 1, 32) }),
  },
  site_key_status: { enc: () => {}, dec: () => ({ type: 'site_key_status' }) },
  set_site_key: {
    enc: (w, v) => {
      w.uint(v.generation, 'generation', LIMITS.maxSiteKeyGeneration, 1)
        .str(v.site_id, 'site_id', SITE_ID_BYTES, SITE_ID_BYTES, SITE_ID_PATTERN)
        .raw(v.key, 'key', SITE_KEY_BYTES);
    },
    dec: (r) => ({
      type: 'set_site_key',
      generation: r.uint('generation', LIMITS.maxSiteKeyGeneration, 1),
      site_id: r.str('site_id', SITE_ID_BYTES, SITE_ID_BYTES, SITE_ID_PATTERN),
      key: r.raw('key', SITE_KEY_BYTES),
    }),
  },
};

// ── Reply bodies ──────────────────────────────────────────────────────────────────────────────────

const lockResult = <T extends 'remote_opened' | 'privacy_overridden' | 'manual_office_mode_set' | 'easy_office_mode_set'>(
  type: T,
): Codec<ReplyOf<T>> => ({
  enc: (w, v) => wLockResult(w, v),
  dec: (r) => ({ type, ...rLockResult(r) }) as ReplyOf<T>,
});

const REPLY_CODECS: ReplyCodecs = {
  status: {
    enc: (w, v) => {
      assertOk(checkPage(v.locks, v.lock_total, v.next_lock_index));
      w.str(v.firmware, 'firmware', 1, 32).str(v.serial, 'serial', 1, 32).raw(v.mac, 'mac', MAC_BYTES);
      if (v.signal_dbm === null) w.u8(0);
      else w.u8(1).int(v.signal_dbm, 'signal_dbm', LIMITS.minSignalDbm, LIMITS.maxSignalDbm);
      w.uint(v.uptime_s, 'uptime_s').bool(v.clock_valid).uint(v.utc_ms, 'utc_ms');
      wTable(w, v.table);
      wRing(w, v);
      w.uint(v.lock_total, 'lock_total', LIMITS.maxLockIndex).uint(v.next_lock_index, 'next_lock_index', LIMITS.maxLockIndex);
      w.count(v.locks.length, 'locks', LIMITS.maxLocksPerStatusPage);
      v.locks.forEach((l, i) => wLockStatus(w, l, `locks[${i}]`));
    },
    dec: (r) => {
      const firmware = r.str('firmware', 1, 32);
      const serial = r.str('serial', 1, 32);
      const mac = r.raw('mac', MAC_BYTES);
      const signal_dbm = r.bool('signal_dbm') ? r.int('signal_dbm', LIMITS.minSignalDbm, LIMITS.maxSignalDbm) : null;
      const uptime_s = r.uint('uptime_s');
      const clock_valid = r.bool('clock_valid');
      const utc_ms = r.uint('utc_ms');
      const table = rTable(r);
      const ring = rRing(r);
      const rv = checkRing(ring);
      if (rv) violated(rv);
      const lock_total = r.uint('lock_total', LIMITS.maxLockIndex);
      const next_lock_index = r.uint('next_lock_index', LIMITS.maxLockIndex);
      const n = r.count('locks', LIMITS.maxLocksPerStatusPage, LOCK_STATUS_MIN_BYTES);
      const locks: LockStatus[] = [];
      for (let i = 0; i < n; i++) locks.push(rLockStatus(r, `locks[${i}]`));
      const pv = checkPage(locks, lock_total, next_lock_index);
      if (pv) violated(pv);
      return { type: 'status', firmware, serial, mac, signal_dbm, uptime_s, clock_valid, utc_ms, table, ...ring, lock_total, next_lock_index, locks };
    },
  },
  time_set: {
    enc: (w, v) => {
      w.bool(v.previous_clock_valid).uint(v.previous_utc_ms, 'previous_utc_ms');
    },
    dec: (r) => ({ type: 'time_set', previous_clock_valid: r.bool('previous_clock_valid'), previous_utc_ms: r.uint('previous_utc_ms') }),
  },
  lock_list: {
    enc: (w, v) => {
      assertOk(checkPage(v.locks, v.lock_total, v.next_lock_index));
      w.uint(v.lock_total, 'lock_total', LIMITS.maxLockIndex).uint(v.next_lock_index, 'next_lock_index', LIMITS.maxLockIndex);
      w.count(v.locks.length, 'locks', LIMITS.maxLocksPerListPage);
      v.locks.forEach((l, i) => wPairedLock(w, l, `locks[${i}]`));
    },
    dec: (r) => {
      const lock_total = r.uint('lock_total', LIMITS.maxLockIndex);
      const next_lock_index = r.uint('next_lock_index', LIMITS.maxLockIndex);
      const n = r.count('locks', LIMITS.maxLocksPerListPage, PAIRED_LOCK_MIN_BYTES);
      const locks: PairedLock[] = [];
      for (let i = 0; i < n; i++) locks.push(rPairedLock(r, `locks[${i}]`));
      const pv = checkPage(locks, lock_total, next_lock_index);
      if (pv) violated(pv);
      return { type: 'lock_list', lock_total, next_lock_index, locks };
    },
  },
  lock_paired: {
    enc: (w, v) => {
      w.bool(v.already_paired);
      wPairedLock(w, v.lock, 'lock');
    },
    dec: (r) => ({ type: 'lock_paired', already_paired: r.bool('already_paired'), lock: rPairedLock(r, 'lock') }),
  },
  lock_unpaired: {
    enc: (w, v) => wLockIndex(w, v.lock_index),
    dec: (r) => ({ type: 'lock_unpaired', lock_index: lockIndex(r) }),
  },
  file_state: {
    enc: (w, v) => {
      assertOk(checkFileState(v));
      w.code(v.ft_type, STAGED_TYPES.byName, 'ft_type')
        .uint(v.total_size, 'total_size', LIMITS.maxFileSize)
        .uint(v.received, 'received', LIMITS.maxFileSize)
        .raw(v.prefix_sha256, 'prefix_sha256', HASH_BYTES)
        .uint(v.max_file_size, 'max_file_size', LIMITS.maxFileSize);
    },
    dec: (r) => {
      const v: ReplyOf<'file_state'> = {
        type: 'file_state',
        ft_type: r.code('ft_type', STAGED_TYPES.byCode),
        total_size: r.uint('total_size', LIMITS.maxFileSize),
        received: r.uint('received', LIMITS.maxFileSize),
        prefix_sha256: r.raw('prefix_sha256', HASH_BYTES),
        max_file_size: r.uint('max_file_size', LIMITS.maxFileSize),
      };
      const fv = checkFileState(v);
      if (fv) violated(fv);
      return v;
    },
  },
  activation: {
    enc: (w, v) => {
      assertOk(checkActivation(v));
      w.code(v.outcome, ACTIVATION_OUTCOMES.byName, 'outcome');
      wTable(w, v.table);
    },
    dec: (r) => {
      const v: ReplyOf<'activation'> = { type: 'activation', outcome: r.code('outcome', ACTIVATION_OUTCOMES.byCode), table: rTable(r) };
      const av = checkActivation(v);
      if (av) violated(av);
      return v;
    },
  },
  events: {
    enc: (w, v) => {
      assertOk(checkEvents(v, v.events));
      wRing(w, v);
      w.uint(v.events.length === 0 ? 0 : v.events[0]!.id, 'first_id');
      w.count(v.events.length, 'events', LIMITS.maxEventsPerFetch);
      v.events.forEach((e, i) => wEvent(w, e, `events[${i}]`));
    },
    dec: (r) => {
      const ring = rRing(r);
      const rv = checkRing(ring);
      if (rv) violated(rv);
      const first_id = r.uint('first_id');
      const n = r.count('events', LIMITS.maxEventsPerFetch, EVENT_MIN_BYTES);
      if (n === 0 && first_id !== 0) fail('bad_field', 'first_id', 'first_id must be 0 when no events follow');
      const events: HubEvent[] = [];
      for (let i = 0; i < n; i++) events.push(rEvent(r, first_id + i, `events[${i}]`));
      const ev = checkEvents(ring, events);
      if (ev) violated(ev);
      return { type: 'events', ...ring, events };
    },
  },
  events_acked: {
    enc: (w, v) => {
      if (v.oldest_id < 1) throw new RangeError('oldest_id: must be at least 1');
      w.uint(v.epoch, 'epoch', LIMITS.maxEpoch).uint(v.acked_id, 'acked_id').uint(v.oldest_id, 'oldest_id');
    },
    dec: (r) => ({
      type: 'events_acked',
      epoch: r.uint('epoch', LIMITS.maxEpoch),
      acked_id: r.uint('acked_id'),
      oldest_id: r.uint('oldest_id', Number.MAX_SAFE_INTEGER, 1),
    }),
  },
  remote_opened: lockResult('remote_opened'),
  privacy_overridden: lockResult('privacy_overridden'),
  manual_office_mode_set: lockResult('manual_office_mode_set'),
  easy_office_mode_set: lockResult('easy_office_mode_set'),
  tag_registration_set: {
    enc: (w, v) => {
      wLockIndex(w, v.lock_index);
      w.uint(v.remaining_s, 'remaining_s', LIMITS.tagRegistrationMaxS);
    },
    dec: (r) => ({ type: 'tag_registration_set', lock_index: lockIndex(r), remaining_s: r.uint('remaining_s', LIMITS.tagRegistrationMaxS) }),
  },
  reset_nonce: {
    enc: (w, v) => {
      w.raw(v.nonce, 'nonce', REF_BYTES).uint(v.valid_s, 'valid_s', LIMITS.maxNonceValidS, 1);
    },
    dec: (r) => ({ type: 'reset_nonce', nonce: r.raw('nonce', REF_BYTES), valid_s: r.uint('valid_s', LIMITS.maxNonceValidS, 1) }),
  },
  factory_reset_done: { enc: () => {}, dec: () => ({ type: 'factory_reset_done' }) },
  site_key_state: {
    enc: (w, v) => wSiteKey(w, v.site_key),
    dec: (r) => ({ type: 'site_key_state', site_key: rSiteKey(r) }),
  },
  site_key_set: {
    enc: (w, v) => wSiteKey(w, v.site_key),
    dec: (r) => {
      const site_key = rSiteKey(r);
      if (site_key === null) fail('bad_field', 'generation', 'SITE_KEY_SET names the key the hub now holds: generation 0 is none');
      return { type: 'site_key_set', site_key };
    },
  },
  events_pending: {
    enc: (w, v) => {
      w.uint(v.epoch, 'epoch', LIMITS.maxEpoch).uint(v.newest_id, 'newest_id');
    },
    dec: (r) => ({ type: 'events_pending', epoch: r.uint('epoch', LIMITS.maxEpoch), newest_id: r.uint('newest_id') }),
  },
};

function encodeErrorBody(w: Writer, v: ReplyOf<'error'>): void {
  assertOk(checkError(v));
  w.u8(v.command, 'command')
    .code(v.error, ERROR_CODES.byName, 'error')
    .u8(v.field, 'field')
    .u8(v.min_version, 'min_version')
    .u8(v.max_version, 'max_version')
    .uint(v.value, 'value')
    .str(v.message, 'message', 0, LIMITS.maxErrorMessageBytes);
}

function decodeErrorBody(r: Reader, version: number): ReplyOf<'error'> {
  const v: ReplyOf<'error'> = {
    type: 'error',
    version,
    command: r.u8('command'),
    error: r.code('error', ERROR_CODES.byCode),
    field: r.u8('field'),
    min_version: r.u8('min_version'),
    max_version: r.u8('max_version'),
    value: r.uint('value'),
    message: r.str('message', 0, LIMITS.maxErrorMessageBytes),
  };
  const ev = checkError(v);
  if (ev) violated(ev);
  return v;
}

// ── Entry points ──────────────────────────────────────────────────────────────────────────────────

function writeHeader(w: Writer, version: number, code: number): void {
  w.u8(VENDOR_CODE[0]).u8(VENDOR_CODE[1]).u8(VENDOR_CODE[2]).u8(version, 'version').u8(code);
}

function readVendor(r: Reader): void {
  for (let i = 0; i < 3; i++) {
    if (r.u8('vendor') !== VENDOR_CODE[i]) {
      fail('bad_vendor', 'vendor', `vendor code is not Gatehouse's ${VENDOR_CODE.map((b) => b.toString(16).padStart(2, '0')).join('-')}`);
    }
  }
}

function unsupported(version: number): never {
  return fail('unsupported_version', 'version', `protocol version ${version} is not supported (this side speaks ${PROTOCOL_VERSION})`);
}

/** The data of an osdp_MFG command (vendor code onwards). */
export function encodeCommand(cmd: IqCommand): Uint8Array {
  const w = new Writer();
  writeHeader(w, PROTOCOL_VERSION, COMMANDS.byName.get(cmd.type)!);
  (COMMAND_CODECS[cmd.type] as Codec<IqCommand>).enc(w, cmd);
  return w.finish();
}

export function decodeCommand(bytes: Uint8Array): DecodeResult<IqCommand> {
  return decodeWith(bytes, (r) => {
    readVendor(r);
    const version = r.u8('version');
    if (version !== PROTOCOL_VERSION) unsupported(version);
    const code = r.u8('code');
    const type = COMMANDS.byCode.get(code);
    if (type === undefined) fail('unknown_command', 'code', `MFG subcommand 0x${code.toString(16).padStart(2, '0')} is not defined`);
    return COMMAND_CODECS[type].dec(r);
  });
}

/** The data of an osdp_MFGREP reply (vendor code onwards). */
export function encodeReply(reply: IqReply): Uint8Array {
  const w = new Writer();
  if (reply.type === 'error') {
    // The version byte is the hub's own: the ERROR layout is the same in every version.
    writeHeader(w, reply.version, REPLIES.byName.get('error')!);
    encodeErrorBody(w, reply);
  } else {
    writeHeader(w, PROTOCOL_VERSION, REPLIES.byName.get(reply.type)!);
    (REPLY_CODECS[reply.type] as Codec<IqReply>).enc(w, reply);
  }
  return w.finish();
}

export function decodeReply(bytes: Uint8Array): DecodeResult<IqReply> {
  return decodeWith(bytes, (r) => {
    readVendor(r);
    const version = r.u8('version');
    const code = r.u8('code');
    const type = REPLIES.byCode.get(code);
    // ERROR is readable whatever version the hub speaks: that is how a host learns the hub's range.
    if (type === 'error') {
      if (version === 0) fail('bad_field', 'version', 'version 0 is not a protocol version');
      return decodeErrorBody(r, version);
    }
    if (version !== PROTOCOL_VERSION) unsupported(version);
    if (type === undefined) fail('unknown_command', 'code', `MFGREP reply code 0x${code.toString(16).padStart(2, '0')} is not defined`);
    return REPLY_CODECS[type].dec(r);
  });
}

/** The wire name of a field position in an ERROR reply (for logs), or null. */
export function errorFieldName(reply: ReplyOf<'error'>): string | null {
  const cmd = COMMANDS.byCode.get(reply.command);
  return cmd && reply.field > 0 ? (COMMAND_FIELDS[cmd][reply.field - 1] ?? null) : null;
}

/**
 * What a hub answers to a command it could not decode. Null for a foreign vendor code: that payload
 * is not ours to answer in MFGREP, and the hub replies osdp_NAK instead (docs/iq-protocol.md, Errors).
 */
export function errorReplyFor(bytes: Uint8Array, error: DecodeError): ReplyOf<'error'> | null {
  if (error.code === 'bad_vendor') return null;
  const command = bytes.length > 4 ? bytes[4]! : 0;
  const base = {
    type: 'error' as const,
    version: PROTOCOL_VERSION,
    command,
    field: 0,
    min_version: 1,
    max_version: PROTOCOL_VERSION,
    value: 0,
    message: truncateUtf8(error.message, LIMITS.maxErrorMessageBytes),
  };
  switch (error.code) {
    case 'unsupported_version':
      return { ...base, error: 'unsupported_version' };
    case 'unknown_command':
      return { ...base, error: 'unknown_command' };
    case 'truncated':
    case 'trailing_bytes':
      return { ...base, error: 'bad_length' };
    case 'bad_field': {
      const cmd = COMMANDS.byCode.get(command);
      const top = error.field?.split(/[.[]/)[0] ?? '';
      const index = cmd ? COMMAND_FIELDS[cmd].indexOf(top) : -1;
      // A header field (version 0, say) has no body position: report the length of the frame instead.
      return index < 0 ? { ...base, error: 'bad_length' } : { ...base, error: 'bad_field', field: index + 1 };
    }
  }
}

function truncateUtf8(s: string, maxBytes: number): string {
  const enc = new TextEncoder();
  if (enc.encode(s).length <= maxBytes) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const n = enc.encode(ch).length;
    if (used + n > maxBytes) break;
    out += ch;
    used += n;
  }
  return out;
}

