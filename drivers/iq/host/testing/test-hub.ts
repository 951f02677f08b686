// A small IQ hub for the host client's tests: the state of one hub (a table store with staging and
// atomic activation, an event ring with epoch and acknowledgement, a lock list, confirmation references)
// answering as docs/iq-protocol.md says, behind an OSDP Peripheral. It lives on across links, as a hub
// outlives a USB cable, so a test can cut the line and attach a new one. The full simulator is
// drivers/hub-sim; this one keeps only what the client's behaviour depends on, plus knobs for faults.
import { createHash } from 'node:crypto';
import type { Clock } from '../../../osdp/clock.ts';
import { Command, NakReason, Reply } from '../../../osdp/codes.ts';
import type { ByteLink } from '../../../osdp/link.ts';
import { Peripheral, type CommandMessage, type HandlerReply } from '../../../osdp/peripheral.ts';
import { COMMANDS, FT_TYPES, OSDP, VENDOR_CODE, type CommandType, type ErrorCode, type FtKind } from '../../codes.ts';
import { decodeFileTransfer, encodeFtStat, FT_STATUS, maxFragmentSize, type FileTransfer } from '../../file-transfer.ts';
import type { CommandOf, HubEvent, IqCommand, IqReply, LockCommandFields, PairedLock, ReplyOf } from '../../messages.ts';
import { decodeCommand, encodeReply, errorReplyFor } from '../../mfg.ts';
import { applyDiff, parseDiff, parseTable, tableHash, type Records } from './tables.ts';

export type NewEvent =
  | { kind: 'entry'; lock_index: number; event_category?: 'lock_opened' | 'lock_rejected'; tag_number?: string | null; actor?: string | null; clock_valid?: boolean }
  | { kind: 'incident'; lock_index: number; incident_type: 'tamper' | 'intrusion' }
  | { kind: 'tag_presented'; lock_index: number; card_uid: Uint8Array };

interface Staged {
  kind: FtKind;
  total: number;
  bytes: Uint8Array;
  received: number;
}

interface Enforced {
  version: number;
  hash: string;
  records: Records;
}

export interface TestHubOptions {
  receiveSize?: number;
  maxFileSize?: number;
  signalDbm?: number | null;
  epoch?: number;
  /** Wall clock for event stamps; the test's simulated clock plus a base. */
  now: () => number;
}

const ZERO_HASH = new Uint8Array(32);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

export class TestHub {
  readonly mac = Uint8Array.of(0x02, 0x00, 0x5e, 0x10, 0x00, 0x01);
  readonly serial = 'IQ-0042';
  readonly firmware = '1.4.2';
  readonly receiveSize: number;
  readonly maxFileSize: number;
  signalDbm: number | null;
  epoch: number;

  // ── Observations ──
  /** Every command the handler ran, in order: 'poll', 'cap', 'ft', or the MFG type. */
  readonly seen: string[] = [];
  /** FILETRANSFER fragments with data, as received. */
  readonly fragments: Array<{ offset: number; size: number }> = [];
  /** Raw MFG payloads per type, to see that a repeated command is the identical one. */
  readonly payloads = new Map<string, Uint8Array[]>();
  /** Lock commands carried out (not replays). */
  readonly carriedOut: Array<{ type: string; lock_index: number }> = [];
  /** The key set by KEYSET (install mode, then provisioned). */
  scbk: Uint8Array | undefined;

  // ── Knobs ──
  /** `busy` answers still to give, per command. */
  readonly busy = new Map<CommandType, number>();
  /** Called after a FILETRANSFER fragment is handled (a test closes the line here). */
  afterFragment: ((ft: FileTransfer) => void) | null = null;
  /** Called after any MFG command is handled, with its reply. */
  afterCommand: ((cmd: IqCommand, reply: IqReply) => void) | null = null;
  /** ACK_EVENTS answered storage_error this many more times (the acknowledgement does not take). */
  failAcks = 0;
  /** Whether FTSTAT allows other commands between fragments. */
  interleave = true;
  /** "Still writing" answers to give once the last fragment is in. */
  finishing = 0;

  // ── State ──
  clock: { utc_ms: number; zone: string; transitions: Array<{ instant_s: number; offset_min: number }>; valid_from_ms: number; valid_until_ms: number } | null = null;
  enforced: Enforced | null = null;
  staged: Staged | null = null;
  events: Array<HubEvent> = [];
  acked = 0;
  announced = 0;
  locks: PairedLock[] = [];
  nextIndex = 1;
  readonly confirmations = new Set<string>();
  nonce: Uint8Array | null = null;
  readonly #now: () => number;

  constructor(o: TestHubOptions) {
    this.#now = o.now;
    this.receiveSize = o.receiveSize ?? 512;
    this.maxFileSize = o.maxFileSize ?? 1 << 20;
    this.signalDbm = o.signalDbm === undefined ? -67 : o.signalDbm;
    this.epoch = o.epoch ?? 0xdeadbeef;
  }

  /** The hub's end of a new line. */
  attach(link: ByteLink, clock: Clock, random: (n: number) => Uint8Array): Peripheral {
    const pd = new Peripheral({
      link,
      address: 0,
      clock,
      random,
      scbk: this.scbk,
      enforceSecure: this.scbk !== undefined,
      clientUid: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
      onKeyChange: (k) => {
        this.scbk = k.slice();
      },
      handler: (cmd) => this.handle(cmd),
    });
    pd.start();
    return pd;
  }

  get newestId(): number {
    return this.events.at(-1)?.id ?? this.acked;
  }

  get oldestId(): number {
    return this.events[0]?.id ?? this.newestId + 1;
  }

  record(e: NewEvent): number {
    const id = this.newestId + 1;
    const base = { id, time_ms: this.#now(), clock_valid: true, lock_index: e.lock_index };
    if (e.kind === 'entry') {
      this.events.push({
        ...base,
        clock_valid: e.clock_valid ?? true,
        kind: 'entry',
        event_category: e.event_category ?? 'lock_opened',
        event_detail: null,
        access_by: 'tag',
        tag_number: e.tag_number === undefined ? '0000007527' : e.tag_number,
        card_uid: null,
        actor: e.actor ?? null,
      });
    } else if (e.kind === 'incident') {
      this.events.push({ ...base, kind: 'incident', incident_type: e.incident_type });
    } else {
      this.events.push({ ...base, kind: 'tag_presented', card_uid: e.card_uid, tag_number: null });
    }
    return id;
  }

  pair(lock_id: string, address: Uint8Array = Uint8Array.of(0x00, 0x1b, 0xc5, 0x0c, 0x60, this.nextIndex)): PairedLock {
    const lock = { lock_index: this.nextIndex++, address, serial: '', lock_id };
    this.locks.push(lock);
    return lock;
  }

  handle(cmd: CommandMessage): HandlerReply {
    switch (cmd.code) {
      case Command.ID:
        return { code: Reply.PDID, data: Uint8Array.of(...VENDOR_CODE, 1, 1, 0x42, 0, 0, 0, 1, 4, 2) };
      case Command.CAP:
        this.seen.push('cap');
        return { code: Reply.PDCAP, data: Uint8Array.of(8, 1, 0, 9, 1, 1, 10, this.receiveSize & 0xff, this.receiveSize >> 8) };
      case Command.POLL:
        this.seen.push('poll');
        if (this.newestId > this.acked && this.newestId > this.announced) {
          this.announced = this.newestId;
          return mfg({ type: 'events_pending', epoch: this.epoch, newest_id: this.newestId });
        }
        return { code: Reply.ACK };
      case OSDP.MFG:
      case OSDP.FILETRANSFER:
        // docs/iq-protocol.md: nothing of the IQ protocol runs in plaintext.
        if (!cmd.secure) return { code: Reply.NAK, data: Uint8Array.of(NakReason.SC_COND) };
        return cmd.code === OSDP.MFG ? this.#mfg(cmd.data) : this.#fileTransfer(cmd.data);
      default:
        return { code: Reply.NAK, data: Uint8Array.of(NakReason.CMD_UNKNOWN) };
    }
  }

  #mfg(data: Uint8Array): HandlerReply {
    const decoded = decodeCommand(data);
    if (!decoded.ok) {
      const err = errorReplyFor(data, decoded.error);
      return err ? mfg(err) : { code: Reply.NAK, data: Uint8Array.of(NakReason.RECORD) };
    }
    const cmd = decoded.value;
    this.seen.push(cmd.type);
    this.payloads.set(cmd.type, [...(this.payloads.get(cmd.type) ?? []), data.slice()]);
    const left = this.busy.get(cmd.type) ?? 0;
    const reply = left > 0 ? (this.busy.set(cmd.type, left - 1), error(cmd.type, 'busy', 300)) : this.#run(cmd);
    this.afterCommand?.(cmd, reply);
    return mfg(reply);
  }

  #run(cmd: IqCommand): IqReply {
    switch (cmd.type) {
      case 'get_status':
        return {
          type: 'status',
          firmware: this.firmware,
          serial: this.serial,
          mac: this.mac,
          signal_dbm: this.signalDbm,
          uptime_s: 100,
          clock_valid: this.clock !== null,
          utc_ms: this.clock?.utc_ms ?? 0,
          table: this.enforced && { version: this.enforced.version, hash: Buffer.from(this.enforced.hash, 'hex') },
          ...this.#ring(),
          lock_total: this.locks.length,
          next_lock_index: 0,
          locks: [],
        };
      case 'set_time': {
        const previous = this.clock;
        this.clock = { utc_ms: cmd.utc_ms, zone: cmd.zone, transitions: cmd.transitions, valid_from_ms: cmd.valid_from_ms, valid_until_ms: cmd.valid_until_ms };
        return { type: 'time_set', previous_clock_valid: previous !== null, previous_utc_ms: previous?.utc_ms ?? 0 };
      }
      case 'list_locks': {
        const from = this.locks.filter((l) => l.lock_index >= cmd.first_lock_index);
        const page = from.slice(0, 2); // small pages, so the client's paging is exercised
        return { type: 'lock_list', lock_total: this.locks.length, next_lock_index: from[2]?.lock_index ?? 0, locks: page };
      }
      case 'pair_lock': {
        const same = this.locks.find((l) => hex(l.address) === hex(cmd.address));
        if (same && same.lock_id !== cmd.lock_id) return error(cmd.type, 'already_paired', same.lock_index);
        if (same) return { type: 'lock_paired', already_paired: true, lock: same };
        return { type: 'lock_paired', already_paired: false, lock: this.pair(cmd.lock_id, cmd.address) };
      }
      case 'unpair_lock': {
        const lock = this.locks.find((l) => l.lock_index === cmd.lock_index && l.lock_id === cmd.lock_id);
        if (!lock) return error(cmd.type, 'not_paired');
        const unacked = this.events.filter((e) => e.lock_index === lock.lock_index && e.id > this.acked).at(-1);
        if (unacked) return error(cmd.type, 'unacked_events', unacked.id);
        this.locks = this.locks.filter((l) => l !== lock);
        return { type: 'lock_unpaired', lock_index: lock.lock_index };
      }
      case 'file_status': {
        const s = this.staged;
        return {
          type: 'file_state',
          ft_type: s?.kind ?? 'none',
          total_size: s?.total ?? 0,
          received: s?.received ?? 0,
          prefix_sha256: s ? sha256(s.bytes.subarray(0, s.received)) : ZERO_HASH,
          max_file_size: this.maxFileSize,
        };
      }
      case 'activate_table':
        return { type: 'activation', ...this.#activate(cmd) };
      case 'fetch_events': {
        const start = cmd.epoch === this.epoch ? Math.max(cmd.after_id + 1, this.oldestId) : this.oldestId;
        const events = this.events.filter((e) => e.id >= start).slice(0, cmd.max_events);
        return { type: 'events', ...this.#ring(), events };
      }
      case 'ack_events': {
        if (cmd.epoch !== this.epoch) return error(cmd.type, 'epoch_mismatch', this.epoch);
        if (cmd.through_id > this.newestId) return { ...error(cmd.type, 'bad_field'), field: 2 };
        if (this.failAcks > 0) {
          this.failAcks--;
          return error(cmd.type, 'storage_error');
        }
        this.acked = Math.max(this.acked, cmd.through_id);
        // Freed at once: a hub frees when it needs room, and this one is always short of it.
        this.events = this.events.filter((e) => e.id > this.acked);
        return { type: 'events_acked', epoch: this.epoch, acked_id: this.acked, oldest_id: this.oldestId };
      }
      case 'remote_open':
        return this.#lockCommand('remote_open', cmd, false);
      case 'manual_office_mode':
        return this.#lockCommand('manual_office_mode', cmd, cmd.on);
      case 'tag_registration': {
        if (!this.locks.some((l) => l.lock_index === cmd.lock_index)) return error(cmd.type, 'not_paired');
        return { type: 'tag_registration_set', lock_index: cmd.lock_index, remaining_s: cmd.timeout_s };
      }
      case 'reset_challenge':
        this.nonce = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + this.events.length) & 0xff);
        return { type: 'reset_nonce', nonce: this.nonce, valid_s: 60 };
      case 'factory_reset': {
        const ok = this.nonce !== null && hex(this.nonce) === hex(cmd.nonce);
        this.nonce = null;
        if (!ok) return error(cmd.type, 'bad_nonce');
        if (cmd.serial !== this.serial) return { ...error(cmd.type, 'bad_field'), field: 2 };
        this.enforced = null;
        this.staged = null;
        this.locks = [];
        this.nextIndex = 1;
        this.clock = null;
        this.confirmations.clear();
        this.events = [];
        this.acked = 0;
        this.announced = 0;
        this.epoch = (this.epoch * 31 + 7) >>> 0 || 1;
        return { type: 'factory_reset_done' };
      }
      default:
        return error(cmd.type, 'unknown_command');
    }
  }

  #ring() {
    return { epoch: this.epoch, oldest_id: this.oldestId, newest_id: this.newestId, acked_id: this.acked };
  }

  #lockCommand(type: 'remote_open' | 'manual_office_mode', cmd: LockCommandFields, on: boolean): IqReply {
    if (!this.locks.some((l) => l.lock_index === cmd.lock_index)) return error(type, 'not_paired');
    const ref = hex(cmd.confirmation);
    const replayed = this.confirmations.has(ref);
    if (!replayed) {
      this.confirmations.add(ref);
      this.carriedOut.push({ type, lock_index: cmd.lock_index });
    }
    const office = type === 'manual_office_mode' && on ? 'manual_office_mode' : 'none';
    return { type: type === 'remote_open' ? 'remote_opened' : 'manual_office_mode_set', lock_index: cmd.lock_index, confirmation: cmd.confirmation, replayed, lock_state: 'locked', office_mode: office };
  }

  #activate(cmd: CommandOf<'activate_table'>): Omit<ReplyOf<'activation'>, 'type'> {
    const want = hex(cmd.hash);
    const keep = (outcome: ReplyOf<'activation'>['outcome'], drop = false) => {
      if (drop) this.staged = null;
      return { outcome, table: this.enforced && { version: this.enforced.version, hash: Buffer.from(this.enforced.hash, 'hex') } };
    };
    if (this.enforced?.hash === want) {
      this.enforced.version = cmd.version;
      return keep('already_active');
    }
    const s = this.staged;
    if (!s || s.kind !== cmd.ft_type) return keep('no_file');
    if (s.received < s.total) return keep('incomplete');
    let records: Records;
    if (s.kind === 'table') {
      const t = parseTable(s.bytes);
      if (!t.ok) return keep('malformed', true);
      if (t.value.hash !== want) return keep('hash_mismatch', true);
      records = t.value.records;
    } else {
      const d = parseDiff(s.bytes);
      if (!d.ok) return keep('malformed', true);
      if (!this.enforced || d.value.from !== this.enforced.hash) return keep('base_mismatch', true);
      if (d.value.to !== want) return keep('hash_mismatch', true);
      records = applyDiff(this.enforced.records, d.value);
      if (tableHash(records) !== want) return keep('hash_mismatch', true);
    }
    if (!this.clock) return keep('not_valid_now');
    this.enforced = { version: cmd.version, hash: want, records };
    this.staged = null;
    return keep('activated');
  }

  #fileTransfer(data: Uint8Array): HandlerReply {
    this.seen.push('ft');
    const decoded = decodeFileTransfer(data);
    const stat = (status: number) => ({ code: Reply.FTSTAT, data: encodeFtStat({ interleave: this.interleave, leave_secure_channel: false, poll_response_available: false, delay_ms: 0, status, update_msg_max: 0 }) });
    if (!decoded.ok) return stat(FT_STATUS.malformed);
    const ft = decoded.value;
    const reply = this.#stage(ft, stat);
    this.afterFragment?.(ft);
    return reply;
  }

  #stage(ft: FileTransfer, stat: (status: number) => HandlerReply): HandlerReply {
    const kind = FT_TYPES.byCode.get(ft.ft_type);
    if (!kind) return stat(FT_STATUS.unrecognized);
    if (ft.total_size > this.maxFileSize) {
      this.staged = null;
      return stat(FT_STATUS.abort);
    }
    // A fragment larger than the receive size allows would not fit the hub's buffer.
    if (ft.data.length > maxFragmentSize(this.receiveSize, true)) return stat(FT_STATUS.malformed);
    const s = this.staged;
    const sameFile = s !== null && s.kind === kind && s.total === ft.total_size;
    if (ft.data.length === 0) {
      if (!sameFile || ft.offset !== ft.total_size || s.received < s.total) return stat(FT_STATUS.malformed);
      if (this.finishing > 0) {
        this.finishing--;
        return stat(FT_STATUS.finishing);
      }
      return stat(FT_STATUS.processed);
    }
    this.fragments.push({ offset: ft.offset, size: ft.data.length });
    if (sameFile && ft.offset + ft.data.length <= s.received && hex(s.bytes.subarray(ft.offset, ft.offset + ft.data.length)) === hex(ft.data)) {
      return stat(FT_STATUS.ok);
    }
    let target = s;
    if (ft.offset === 0) {
      target = { kind, total: ft.total_size, bytes: new Uint8Array(ft.total_size), received: 0 };
      this.staged = target;
    } else if (!sameFile || ft.offset !== s.received) {
      return stat(FT_STATUS.malformed);
    }
    target!.bytes.set(ft.data, ft.offset);
    target!.received = ft.offset + ft.data.length;
    if (target!.received < target!.total) return stat(FT_STATUS.ok);
    return stat(this.finishing > 0 ? (this.finishing--, FT_STATUS.finishing) : FT_STATUS.processed);
  }
}

function mfg(reply: IqReply): HandlerReply {
  return { code: OSDP.MFGREP, data: encodeReply(reply) };
}

function error(command: CommandType, code: ErrorCode, value = 0): ReplyOf<'error'> {
  return {
    type: 'error',
    version: 1,
    command: COMMANDS.byName.get(command as CommandType) ?? 0,
    error: code,
    field: 0,
    min_version: 1,
    max_version: 1,
    value,
    message: '',
  };
}
