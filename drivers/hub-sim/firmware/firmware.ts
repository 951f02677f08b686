// The simulated hub's firmware: an OSDP Peripheral whose handler speaks the IQ protocol
// (docs/iq-protocol.md) and drives a SimulatedHub. Everything a real hub keeps across a power cycle is
// on the hub's flash: the table, keys (the OSDP SCBK among them), the site card key, pairings and the
// event ring through SimulatedHub; the rest of the firmware's own state (radio addresses, the zone from SET_TIME, the RTC
// offset, confirmation references, the staged file) in two files of its own beside the hub's. So a
// reboot() keeps all of it and drops only what a real hub holds in RAM: the OSDP sessions, the
// EVENTS_PENDING watermark, tag-registration timers and the reset nonce.
import { createHash, randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../../osdp/clock.ts';
import { Command, NakReason, Reply } from '../../osdp/codes.ts';
import { decodeBeeps, decodeFlashMs } from '../../osdp/indication.ts';
import type { ByteLink } from '../../osdp/link.ts';
import { MAX_PACKET_LENGTH } from '../../osdp/packet.ts';
import { Peripheral, type CommandMessage, type HandlerReply } from '../../osdp/peripheral.ts';
import { CARD_UID_LENGTHS, COMMANDS, FT_TYPES, LIMITS, OSDP, SUPPORTED_VERSIONS, VENDOR_CODE, type CommandType, type ErrorCode, type FtKind } from '../../iq/codes.ts';
import { decodeFileTransfer, encodeFtStat, FT_STATUS, maxFragmentSize, type FileTransfer } from '../../iq/file-transfer.ts';
import type { CommandOf, HubEvent as WireEvent, IqCommand, IqReply, LockCommandFields, LockStatus as WireLockStatus, PairedLock, ReplyOf, SiteKeyHeld, TableVersion } from '../../iq/messages.ts';
import { decodeCommand, encodeReply, errorReplyFor } from '../../iq/mfg.ts';
import { clientUidForMac } from '../../iq/host/keys.ts';
import { siteKeyFingerprint } from '../../iq/site-key.ts';
import type { HubEvent } from '../events.ts';
import { MemoryFlash, PowerLossError, type FlashMedium } from '../flash.ts';
import { HubError, SimulatedHub, type HubOptions } from '../hub.ts';
import { applyDiff as applyTableDiff, decodeDiff, decodeTable, type HubTable } from '../table.ts';

/** The hub key the Peripheral's SCBK lives under. */
export const SCBK_KEY = 'osdp.scbk';
const STATE_FILE = 'fw-state.json';
const STAGED_FILE = 'fw-staged.bin';
const ZERO_HASH = new Uint8Array(32);
/**
 * Largest MFGREP data we put in one packet: OSDP's 1440 less the header, CRC, security block, MAC and
 * up to 16 bytes of padding. A reply must fit the host's receive buffer, so pages and event batches
 * are cut to it.
 */
const MAX_REPLY_DATA = MAX_PACKET_LENGTH - 8 - 22 - 2;
const CONFIRMATIONS_KEPT = 64;
const NONCE_VALID_S = 60;

export interface FirmwareOptions {
  flash?: FlashMedium;
  /** SimulatedHub options other than flash, clock and timer (the firmware owns the clock: SET_TIME moves it; the timer is the RTC). */
  hub?: Omit<HubOptions, 'flash' | 'clock' | 'timer'>;
  /** The board's free-running RTC, epoch ms; SET_TIME stores an offset to it. Default Date.now. */
  now?: () => number;
  /** OSDP timing (session timeout, inter-character timeout). Default the system clock. */
  clock?: Clock;
  random?: (n: number) => Uint8Array;
  serial?: string;
  firmwareVersion?: string;
  mac?: Uint8Array;
  signalDbm?: number | null;
  /** PDCAP receive size (function code 10). Default 1440. */
  receiveSize?: number;
  maxFileSize?: number;
  /** Written to flash at first boot when no key is there: the key provisioned at manufacture. null = install mode. */
  factoryKey?: Uint8Array | null;
  /** Called after FACTORY_RESET_DONE has gone out: the hub restarts, so its links drop. */
  onRestart?: () => void;
}

interface RadioLock {
  address: string;
  serial: string;
}

/** What the firmware keeps in its own file; SimulatedHub keeps the rest. */
interface PersistentState {
  /** RTC + offset = UTC; null until SET_TIME ever ran. */
  rtcOffsetMs: number | null;
  zone: string | null;
  window: { valid_from_ms: number; valid_until_ms: number; initial_offset_min: number; transitions: Array<{ instant_s: number; offset_min: number }> } | null;
  radio: Record<string, RadioLock>;
  /** Every index a lock id had in this epoch: events of an unpaired lock still name it. */
  indices: Record<string, number>;
  confirmations: string[];
}

interface Staged {
  kind: FtKind;
  total: number;
  bytes: Uint8Array;
  received: number;
}

const freshState = (): PersistentState => ({ rtcOffsetMs: null, zone: null, window: null, radio: {}, indices: {}, confirmations: [] });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const enc = new TextEncoder();

export class HubFirmware {
  readonly hub: SimulatedHub;
  readonly serial: string;
  readonly firmwareVersion: string;
  readonly mac: Uint8Array;
  readonly receiveSize: number;
  readonly maxFileSize: number;
  signalDbm: number | null;
  /** Counts for tests and logs. */
  readonly stats = { commands: 0, mfg: 0, fragments: 0, boots: 1, sessions: 0 };

  readonly #medium: FlashMedium;
  readonly #now: () => number;
  readonly #clock: Clock;
  readonly #random: (n: number) => Uint8Array;
  readonly #onRestart: (() => void) | undefined;
  readonly #sessions = new Set<Peripheral>();
  #state: PersistentState = freshState();
  #staged: Staged | null = null;
  // RAM only: gone at every boot.
  #bootedAt = 0;
  #clockSetSinceBoot = false;
  #announced = 0;
  #nonce: { bytes: Uint8Array; until: number } | null = null;

  constructor(o: FirmwareOptions = {}) {
    this.#medium = o.flash ?? new MemoryFlash();
    this.#now = o.now ?? Date.now;
    this.#clock = o.clock ?? systemClock;
    this.#random = o.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.#onRestart = o.onRestart;
    this.serial = o.serial ?? 'IQ-SIM-0001';
    this.firmwareVersion = o.firmwareVersion ?? '1.0.0-sim';
    this.mac = o.mac ?? Uint8Array.of(0x02, 0x00, 0x5e, 0x10, 0x00, 0x01);
    this.signalDbm = o.signalDbm === undefined ? -61 : o.signalDbm;
    this.receiveSize = o.receiveSize ?? MAX_PACKET_LENGTH;
    this.maxFileSize = o.maxFileSize ?? 1 << 22;
    // Tag registration counts down on the RTC (in the hub's RAM), so SET_TIME does not stretch or cut it.
    this.hub = new SimulatedHub({ ...o.hub, flash: this.#medium, clock: () => this.utcNow(), timer: () => this.#now() });
    if (o.factoryKey && !this.hub.getKey(SCBK_KEY)) this.hub.setKey(SCBK_KEY, o.factoryKey);
    this.#loadOwn();
  }

  /** Until when (RTC ms) the LED flashes to show which hub this is (osdp_LED, temporary state); RAM only. */
  identifyingUntil = 0;
  /** Beeps sounded since power-up (osdp_BUZ). */
  beeps = 0;

  /** The LED flashes now: an installer asked this hub to show itself. */
  get identifying(): boolean {
    return this.#now() < this.identifyingUntil;
  }

  /** The hub's clock: the RTC corrected by the last SET_TIME. */
  utcNow(): number {
    return this.#now() + (this.#state?.rtcOffsetMs ?? 0);
  }

  get clockValid(): boolean {
    return this.#clockSetSinceBoot;
  }

  /** The zone SET_TIME gave (display and logs only: decisions take the zone from the table's header). */
  get zone(): string | null {
    return this.#state.zone;
  }

  get scbk(): Uint8Array | null {
    return this.hub.getKey(SCBK_KEY);
  }

  /** The fingerprint (16 hex digits) of the site card key the hub holds, as SITE_KEY_STATE reports it; null for none. */
  get siteKeyFingerprint(): string | null {
    const held = this.#siteKeyHeld();
    return held && hex(held.fingerprint);
  }

  /**
   * The installer's reset to install mode (a button held at power-up on a real hub): the hub forgets its
   * secure-channel key and takes SCBK-D again, so a host can commission it anew. Unlike FACTORY_RESET it
   * keeps the table, pairings and events. Takes effect from the next link: restart the hub (reboot() of
   * usb-device or tcp-server) as a real one would.
   */
  resetToInstallMode(): void {
    this.hub.deleteKey(SCBK_KEY);
  }

  /** The hub's end of a new link (a USB enumeration, a TCP connection): a fresh OSDP session on it. */
  attach(link: ByteLink): Peripheral {
    const scbk = this.scbk ?? undefined;
    const pd: Peripheral = new Peripheral({
      link,
      address: 0,
      clock: this.#clock,
      random: this.#random,
      scbk,
      enforceSecure: scbk !== undefined,
      // docs/iq-protocol.md, Keys: the cUID names the hub's MAC, so the host can pick its key before the channel is up.
      clientUid: clientUidForMac(this.mac),
      // On flash before the PD acknowledges the key: a KEYSET the host saw acknowledged survives a power cut.
      onKeyChange: (k) => this.hub.setKey(SCBK_KEY, k),
      handler: (cmd) => this.handle(cmd),
    });
    this.#sessions.add(pd);
    this.stats.sessions++;
    pd.start();
    return pd;
  }

  detach(pd: Peripheral): void {
    pd.stop();
    this.#sessions.delete(pd);
  }

  /** Power cycle: sessions and RAM are gone; the flash is read back. Links are the caller's (usb-device, tcp-server). */
  reboot(): void {
    for (const pd of this.#sessions) pd.stop();
    this.#sessions.clear();
    this.hub.reboot();
    this.stats.boots++;
    this.#loadOwn();
  }

  #loadOwn(): void {
    this.#state = readJson<PersistentState>(this.#medium, STATE_FILE) ?? freshState();
    this.#staged = readStaged(this.#medium);
    this.#bootedAt = this.#now();
    this.#clockSetSinceBoot = false;
    this.#announced = 0;
    this.#nonce = null;
    this.#noteIndices();
  }

  #saveState(next: PersistentState): void {
    this.#medium.replace(STATE_FILE, enc.encode(JSON.stringify(next)));
    this.#state = next;
  }

  #noteIndices(): void {
    if (!this.hub.isPowered) return;
    let changed = false;
    const indices = { ...this.#state.indices };
    for (const id of this.hub.lockIds()) {
      const index = this.hub.lockIndex(id);
      if (indices[id] !== index) {
        indices[id] = index;
        changed = true;
      }
    }
    if (changed) this.#saveState({ ...this.#state, indices });
  }

  // ── OSDP ────────────────────────────────────────────────────────────────────────────────────────

  handle(cmd: CommandMessage): HandlerReply {
    this.stats.commands++;
    switch (cmd.code) {
      case Command.ID:
        return { code: Reply.PDID, data: Uint8Array.of(...VENDOR_CODE, 1, 1, ...serialBytes(this.serial), 1, 0, 0) };
      case Command.CAP:
        return { code: Reply.PDCAP, data: Uint8Array.of(8, 1, 0, 9, 1, 1, 10, this.receiveSize & 0xff, this.receiveSize >> 8) };
      case Command.POLL:
        return this.#poll();
      case Command.LED: {
        const ms = decodeFlashMs(cmd.data);
        if (ms === null) return { code: Reply.NAK, data: Uint8Array.of(NakReason.CMD_LEN) };
        if (ms > 0) this.identifyingUntil = this.#now() + ms;
        return { code: Reply.ACK };
      }
      case Command.BUZ: {
        const beeps = decodeBeeps(cmd.data);
        if (beeps === null) return { code: Reply.NAK, data: Uint8Array.of(NakReason.CMD_LEN) };
        this.beeps += beeps;
        return { code: Reply.ACK };
      }
      case OSDP.MFG:
      case OSDP.FILETRANSFER:
        // docs/iq-protocol.md: nothing of the IQ protocol runs in plaintext.
        if (!cmd.secure) return { code: Reply.NAK, data: Uint8Array.of(NakReason.SC_COND) };
        return cmd.code === OSDP.MFG ? this.#mfg(cmd.data) : this.#fileTransfer(cmd.data);
      default:
        return { code: Reply.NAK, data: Uint8Array.of(NakReason.CMD_UNKNOWN) };
    }
  }

  #poll(): HandlerReply {
    if (!this.hub.isPowered) return { code: Reply.ACK };
    const s = this.hub.eventStatus();
    if (s.newestId > s.ackedUpTo && s.newestId > this.#announced) {
      this.#announced = s.newestId;
      return mfg({ type: 'events_pending', epoch: s.epoch, newest_id: s.newestId });
    }
    return { code: Reply.ACK };
  }

  #mfg(data: Uint8Array): HandlerReply {
    const decoded = decodeCommand(data);
    if (!decoded.ok) {
      const err = errorReplyFor(data, decoded.error);
      // Another vendor's MFG: not ours to answer in MFGREP (docs/iq-protocol.md, Vendor code).
      return err ? mfg(err) : { code: Reply.NAK, data: Uint8Array.of(NakReason.RECORD) };
    }
    this.stats.mfg++;
    const cmd = decoded.value;
    // In install mode the channel runs under SCBK-D, which everyone knows: the site key would travel readable.
    if (cmd.type === 'set_site_key' && !this.scbk) return { code: Reply.NAK, data: Uint8Array.of(NakReason.SC_COND) };
    try {
      return mfg(this.#run(cmd));
    } catch (e) {
      if (e instanceof HubError && e.code === 'unknown_lock') return mfg(error(cmd.type, 'not_paired', 0, e.message));
      if (e instanceof PowerLossError || (e instanceof HubError && e.code === 'powered_off')) return mfg(error(cmd.type, 'storage_error', 0, 'flash write failed'));
      return mfg(error(cmd.type, 'internal_error', 0, e instanceof Error ? e.message.slice(0, 100) : 'internal error'));
    }
  }

  #run(cmd: IqCommand): IqReply {
    switch (cmd.type) {
      case 'get_status':
        return this.#status(cmd.first_lock_index);
      case 'set_time':
        return this.#setTime(cmd);
      case 'list_locks':
        return this.#listLocks(cmd.first_lock_index);
      case 'pair_lock':
        return this.#pair(cmd);
      case 'unpair_lock':
        return this.#unpair(cmd);
      case 'file_status': {
        const s = this.#staged;
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
      case 'fetch_events':
        return this.#fetch(cmd);
      case 'ack_events': {
        const r = this.hub.ack(cmd.through_id, { epoch: cmd.epoch });
        if (!r.ok && r.error === 'epoch_mismatch') return error(cmd.type, 'epoch_mismatch', r.epoch, r.message);
        if (!r.ok) return { ...error(cmd.type, 'bad_field', 0, r.message), field: 2 };
        const s = this.hub.eventStatus();
        return { type: 'events_acked', epoch: s.epoch, acked_id: s.ackedUpTo, oldest_id: s.oldestId };
      }
      case 'remote_open':
      case 'privacy_override':
      case 'manual_office_mode':
        return this.#lockCommand(cmd);
      case 'tag_registration':
        return this.#tagRegistration(cmd);
      case 'reset_challenge': {
        this.#nonce = { bytes: this.#random(16), until: this.#now() + NONCE_VALID_S * 1000 };
        return { type: 'reset_nonce', nonce: this.#nonce.bytes, valid_s: NONCE_VALID_S };
      }
      case 'factory_reset':
        return this.#factoryReset(cmd);
      case 'site_key_status':
        return { type: 'site_key_state', site_key: this.#siteKeyHeld() };
      case 'set_site_key':
        return this.#setSiteKey(cmd);
      default:
        // EASY_OFFICE_MODE: SimulatedHub has no remote EOM yet; the host reads this as "not supported".
        return error(cmd.type, 'unknown_command');
    }
  }

  // ── Status, clock ───────────────────────────────────────────────────────────────────────────────

  #ring() {
    const s = this.hub.eventStatus();
    return { epoch: s.epoch, oldest_id: s.oldestId, newest_id: s.newestId, acked_id: s.ackedUpTo };
  }

  #table(): TableVersion | null {
    const t = this.hub.tableInfo();
    return t && { version: t.version, hash: Buffer.from(t.hash, 'hex') };
  }

  #status(first: number): IqReply {
    const paired = this.#paired().filter((p) => p.index >= first);
    const base: ReplyOf<'status'> = {
      type: 'status',
      firmware: this.firmwareVersion,
      serial: this.serial,
      mac: this.mac,
      signal_dbm: this.signalDbm,
      uptime_s: Math.max(0, Math.floor((this.#now() - this.#bootedAt) / 1000)),
      clock_valid: this.#clockSetSinceBoot,
      utc_ms: Math.max(0, Math.floor(this.utcNow())),
      table: this.#table(),
      ...this.#ring(),
      lock_total: this.hub.lockIds().length,
      next_lock_index: 0,
      locks: [],
    };
    const locks = paired.slice(0, LIMITS.maxLocksPerStatusPage).map((p) => this.#lockState(p.index));
    return fitPage(base, locks, paired, (n, next) => ({ ...base, locks: locks.slice(0, n), next_lock_index: next }));
  }

  #lockState(index: number): WireLockStatus {
    const s = this.hub.lockStatus(index);
    return {
      lock_index: index,
      online: s.online,
      left_open: s.left_open_alarm,
      intrusion: s.intrusion_alarm,
      tamper: s.tamper,
      privacy_mode: s.privacy_mode,
      tag_registration: s.tag_registration_s > 0,
      battery: s.battery_level,
      // The bolt and the office mode are separate on the wire.
      lock_state: s.locked_state === 'locked' ? 'locked' : 'unlocked',
      office_mode: s.office_mode,
    };
  }

  #setTime(cmd: CommandOf<'set_time'>): IqReply {
    const previous = { previous_clock_valid: this.#clockSetSinceBoot, previous_utc_ms: Math.max(0, Math.floor(this.utcNow())) };
    const { valid_from_ms, valid_until_ms, initial_offset_min, transitions } = cmd;
    this.#saveState({ ...this.#state, rtcOffsetMs: cmd.utc_ms - this.#now(), zone: cmd.zone, window: { valid_from_ms, valid_until_ms, initial_offset_min, transitions } });
    this.#clockSetSinceBoot = true;
    return { type: 'time_set', ...previous };
  }

  // ── Locks ───────────────────────────────────────────────────────────────────────────────────────

  #paired(): Array<{ index: number; lock_id: string }> {
    return this.hub
      .lockIds()
      .map((lock_id) => ({ index: this.hub.lockIndex(lock_id), lock_id }))
      .sort((a, b) => a.index - b.index);
  }

  #pairedLock(p: { index: number; lock_id: string }): PairedLock {
    const radio = this.#state.radio[p.lock_id];
    return {
      lock_index: p.index,
      // Locks paired by a table (autoPair) never told us an address: one is derived from the id.
      address: radio ? Buffer.from(radio.address, 'hex') : derivedAddress(p.lock_id),
      serial: radio?.serial ?? '',
      lock_id: p.lock_id,
    };
  }

  #listLocks(first: number): IqReply {
    const from = this.#paired().filter((p) => p.index >= first);
    const page = from.slice(0, LIMITS.maxLocksPerListPage);
    const locks = page.map((p) => this.#pairedLock(p));
    const base: ReplyOf<'lock_list'> = { type: 'lock_list', lock_total: this.hub.lockIds().length, next_lock_index: 0, locks };
    return fitPage(base, locks, from, (n, next) => ({ ...base, locks: locks.slice(0, n), next_lock_index: next }));
  }

  #pair(cmd: CommandOf<'pair_lock'>): IqReply {
    const address = hex(cmd.address);
    const holder = Object.entries(this.#state.radio).find(([id, r]) => r.address === address && this.hub.lockIds().includes(id));
    if (holder && holder[0] !== cmd.lock_id) return error(cmd.type, 'already_paired', this.hub.lockIndex(holder[0]));
    if (holder) return { type: 'lock_paired', already_paired: true, lock: this.#pairedLock({ index: this.hub.lockIndex(cmd.lock_id), lock_id: cmd.lock_id }) };
    if (this.hub.lockIds().length >= LIMITS.maxLockIndex) return error(cmd.type, 'lock_table_full');
    const index = this.hub.pairLock(cmd.lock_id);
    this.#saveState({ ...this.#state, radio: { ...this.#state.radio, [cmd.lock_id]: { address, serial: cmd.serial } }, indices: { ...this.#state.indices, [cmd.lock_id]: index } });
    return { type: 'lock_paired', already_paired: false, lock: this.#pairedLock({ index, lock_id: cmd.lock_id }) };
  }

  #unpair(cmd: CommandOf<'unpair_lock'>): IqReply {
    const p = this.#paired().find((x) => x.index === cmd.lock_index);
    if (!p || p.lock_id !== cmd.lock_id) return error(cmd.type, 'not_paired');
    const { ackedUpTo } = this.hub.eventStatus();
    const unacked = this.hub.eventsSince(ackedUpTo).filter((e) => e.kind !== 'events_lost' && e.lock_id === p.lock_id).at(-1);
    if (unacked) return error(cmd.type, 'unacked_events', unacked.id);
    this.hub.unpairLock(p.lock_id);
    const radio = { ...this.#state.radio };
    delete radio[p.lock_id];
    this.#saveState({ ...this.#state, radio });
    return { type: 'lock_unpaired', lock_index: p.index };
  }

  #lockCommand(cmd: Extract<IqCommand, LockCommandFields>): IqReply {
    const replyType = cmd.type === 'remote_open' ? 'remote_opened' : cmd.type === 'privacy_override' ? 'privacy_overridden' : 'manual_office_mode_set';
    const status = this.hub.lockStatus(cmd.lock_index);
    const ref = hex(cmd.confirmation);
    const result = (replayed: boolean): IqReply => {
      const s = this.#lockState(cmd.lock_index);
      return { type: replyType, lock_index: cmd.lock_index, confirmation: cmd.confirmation, replayed, lock_state: s.lock_state, office_mode: s.office_mode };
    };
    if (this.#state.confirmations.includes(ref)) return result(true);
    if (!status.online) return error(cmd.type, 'lock_offline');
    if (cmd.type === 'remote_open' && status.privacy_mode) return error(cmd.type, 'privacy_mode');
    if (cmd.type === 'manual_office_mode') this.hub.setManualOfficeMode(cmd.lock_index, cmd.on, { actor: cmd.operator_ref });
    else {
      const r = this.hub.remoteOpen(cmd.lock_index, { actor: cmd.operator_ref, throughPrivacy: cmd.type === 'privacy_override' });
      if (!r.ok) return error(cmd.type, r.error === 'lock_offline' ? 'lock_offline' : 'internal_error', 0, r.message);
    }
    // Remembered only once carried out: a refused command did nothing, so its repeat may act.
    this.#saveState({ ...this.#state, confirmations: [...this.#state.confirmations, ref].slice(-CONFIRMATIONS_KEPT) });
    return result(false);
  }

  /** The mode lives in the hub (presentTag files `tag_presented` while it lasts); an unpaired index throws unknown_lock → not_paired. */
  #tagRegistration(cmd: CommandOf<'tag_registration'>): IqReply {
    const remaining_s = this.hub.setTagRegistration(cmd.lock_index, cmd.timeout_s);
    return { type: 'tag_registration_set', lock_index: cmd.lock_index, remaining_s };
  }

  #factoryReset(cmd: CommandOf<'factory_reset'>): IqReply {
    const nonce = this.#nonce;
    // Any FACTORY_RESET uses the nonce up, right or wrong.
    this.#nonce = null;
    if (!nonce || nonce.until < this.#now() || hex(nonce.bytes) !== hex(cmd.nonce)) return error(cmd.type, 'bad_nonce');
    if (cmd.serial !== this.serial) return { ...error(cmd.type, 'bad_field'), field: 2 };
    const scbk = this.scbk;
    this.hub.factoryReset();
    // The hub keeps its secure-channel key, or only an installer at the USB port could reach it again.
    if (scbk) this.hub.setKey(SCBK_KEY, scbk);
    this.#medium.remove(STAGED_FILE);
    this.#state = freshState();
    this.#staged = null;
    this.#announced = 0;
    if (this.#onRestart) this.#clock.setTimeout(this.#onRestart, 20);
    return { type: 'factory_reset_done' };
  }

  // ── The site key ────────────────────────────────────────────────────────────────────────────────

  #siteKeyHeld(): SiteKeyHeld | null {
    const k = this.hub.siteKey();
    return k && { generation: k.generation, fingerprint: siteKeyFingerprint(k.key) };
  }

  #setSiteKey(cmd: CommandOf<'set_site_key'>): IqReply {
    const held = this.hub.siteKey();
    // A repeat after a lost reply finds the key in place: no flash write.
    if (!held || held.generation !== cmd.generation || held.siteId !== cmd.site_id || hex(held.key) !== hex(cmd.key)) {
      this.hub.setSiteKey({ generation: cmd.generation, siteId: cmd.site_id, key: cmd.key });
    }
    return { type: 'site_key_set', site_key: this.#siteKeyHeld()! };
  }

  // ── Events ──────────────────────────────────────────────────────────────────────────────────────

  #fetch(cmd: CommandOf<'fetch_events'>): IqReply {
    const ring = this.#ring();
    const start = cmd.epoch === ring.epoch ? Math.max(cmd.after_id + 1, ring.oldest_id) : ring.oldest_id;
    // The loss marker is not on the wire: the host sees the gap as oldest_id past its cursor.
    const stored = this.hub.eventsSince(start - 1, { limit: cmd.max_events + 1 }).filter((e) => e.kind !== 'events_lost');
    const events = stored.slice(0, cmd.max_events).map((e) => this.#wireEvent(e));
    for (let n = events.length; n > 0; n--) {
      const reply: IqReply = { type: 'events', ...ring, events: events.slice(0, n) };
      if (encodeReply(reply).length <= MAX_REPLY_DATA) return reply;
    }
    return { type: 'events', ...ring, events: [] };
  }

  #wireEvent(e: HubEvent): WireEvent {
    if (e.kind === 'events_lost') throw new Error('a loss marker has no wire form');
    const lock_index = e.lock_id === null ? 0 : (this.#state.indices[e.lock_id] ?? this.#indexOf(e.lock_id));
    const base = { id: e.id, time_ms: Math.max(0, Math.floor(e.time)), clock_valid: this.#state.rtcOffsetMs !== null, lock_index };
    if (e.kind === 'incident') return { ...base, kind: 'incident', incident_type: e.incident_type };
    if (e.kind === 'tag_presented') return { ...base, kind: 'tag_presented', card_uid: Buffer.from(e.card_uid, 'hex'), tag_number: e.tag_number };
    return {
      ...base,
      kind: 'entry',
      event_category: e.event_category,
      event_detail: e.event_detail,
      access_by: e.access_by,
      tag_number: e.tag_number,
      // A reader only yields 4-, 7- or 10-byte UIDs; one the control API made up that the wire cannot
      // carry is left out rather than wedging every later FETCH_EVENTS on an encoding error.
      card_uid: e.card_uid && (CARD_UID_LENGTHS as readonly number[]).includes(e.card_uid.length / 2) ? Buffer.from(e.card_uid, 'hex') : null,
      actor: e.actor_name,
    };
  }

  #indexOf(lockId: string): number {
    try {
      return this.hub.lockIndex(lockId);
    } catch {
      return 0;
    }
  }

  // ── Tables ──────────────────────────────────────────────────────────────────────────────────────

  #activate(cmd: CommandOf<'activate_table'>): Omit<ReplyOf<'activation'>, 'type'> {
    const want = hex(cmd.hash);
    const outcome = (o: ReplyOf<'activation'>['outcome'], drop = false) => {
      if (drop) this.#dropStaged();
      return { outcome: o, table: this.#table() };
    };
    if (this.hub.tableInfo()?.hash === want) return outcome('already_active');
    const s = this.#staged;
    if (!s || s.kind !== cmd.ft_type) return outcome('no_file');
    if (s.received < s.total) return outcome('incomplete');
    let next: HubTable;
    if (s.kind === 'table') {
      const t = decodeTable(s.bytes);
      if (!t.ok) return outcome('malformed', true);
      if (t.table.hash !== want) return outcome('hash_mismatch', true);
      next = t.table;
    } else {
      const d = decodeDiff(s.bytes);
      if (!d.ok) return outcome('malformed', true);
      const current = this.hub.tableInfo();
      if (!current || d.diff.fromHash !== current.hash) return outcome('base_mismatch', true);
      if (d.diff.toHash !== want) return outcome('hash_mismatch', true);
      const base = decodeTable(this.hub.tableBytes()!);
      if (!base.ok) return outcome('storage_error');
      const applied = applyTableDiff(base.table, d.diff);
      if (!applied.ok) return outcome(applied.error.code === 'target_mismatch' ? 'hash_mismatch' : 'malformed', true);
      next = applied.table;
    }
    const now = this.utcNow();
    // The file is kept: after SET_TIME the host activates it again.
    if (this.#state.rtcOffsetMs === null || now < next.header.validFrom || now >= next.header.validUntil) return outcome('not_valid_now');
    const r = s.kind === 'table' ? this.hub.installTable(s.bytes, { version: cmd.version }) : this.hub.applyDiff(s.bytes, { version: cmd.version });
    if (!r.ok) return outcome('malformed', true);
    this.#dropStaged();
    this.#noteIndices();
    return outcome('activated');
  }

  #dropStaged(): void {
    this.#medium.remove(STAGED_FILE);
    this.#staged = null;
  }

  #fileTransfer(data: Uint8Array): HandlerReply {
    this.stats.fragments++;
    const decoded = decodeFileTransfer(data);
    const stat = (status: number) => ({
      code: Reply.FTSTAT,
      data: encodeFtStat({ interleave: true, leave_secure_channel: false, poll_response_available: false, delay_ms: 0, status, update_msg_max: 0 }),
    });
    if (!decoded.ok) return stat(FT_STATUS.malformed);
    try {
      return stat(this.#stage(decoded.value));
    } catch (e) {
      if (e instanceof PowerLossError) return stat(FT_STATUS.abort);
      throw e;
    }
  }

  #stage(ft: FileTransfer): number {
    const kind = FT_TYPES.byCode.get(ft.ft_type);
    if (!kind) return FT_STATUS.unrecognized;
    if (ft.total_size > this.maxFileSize) {
      this.#dropStaged();
      return FT_STATUS.abort;
    }
    if (ft.data.length > maxFragmentSize(this.receiveSize, true)) return FT_STATUS.malformed;
    const s = this.#staged;
    const sameFile = s !== null && s.kind === kind && s.total === ft.total_size;
    if (ft.data.length === 0) {
      if (!sameFile || ft.offset !== ft.total_size || s.received < s.total) return FT_STATUS.malformed;
      return FT_STATUS.processed;
    }
    // OSDP may retransmit across a reconnect: identical bytes already staged change nothing.
    if (sameFile && ft.offset + ft.data.length <= s.received && hex(s.bytes.subarray(ft.offset, ft.offset + ft.data.length)) === hex(ft.data)) {
      return s.received === s.total ? FT_STATUS.processed : FT_STATUS.ok;
    }
    let target: Staged;
    if (ft.offset === 0) target = { kind, total: ft.total_size, bytes: new Uint8Array(ft.total_size), received: 0 };
    else if (!sameFile || ft.offset !== s.received) return FT_STATUS.malformed;
    else target = { ...s, bytes: s.bytes.slice() };
    target.bytes.set(ft.data, ft.offset);
    target.received = ft.offset + ft.data.length;
    // Durable before it is acknowledged: staged bytes survive disconnects and reboots.
    writeStaged(this.#medium, target);
    this.#staged = target;
    if (target.received < target.total) return FT_STATUS.ok;
    return FT_STATUS.processed;
  }
}

/** Cuts a page to what fits one reply; `next` names the first lock left out. */
function fitPage<R extends IqReply, L>(base: R, items: L[], all: Array<{ index: number }>, build: (n: number, next: number) => R): R {
  for (let n = items.length; n >= 0; n--) {
    const reply = build(n, all[n]?.index ?? 0);
    if (encodeReply(reply).length <= MAX_REPLY_DATA || n === 0) return reply;
  }
  return base;
}

function derivedAddress(lockId: string): Uint8Array {
  const a = sha256(enc.encode(lockId)).slice(0, 6);
  // Locally administered, unicast: never a real lock's EUI-48.
  a[0] = (a[0]! & 0xfc) | 0x02;
  return a;
}

function serialBytes(serial: string): number[] {
  const n = Number.parseInt(createHash('sha256').update(serial).digest('hex').slice(0, 8), 16) >>> 0;
  return [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
}

function readJson<T>(medium: FlashMedium, name: string): T | null {
  const bytes = medium.read(name);
  if (!bytes) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    return null;
  }
}

/** `kind (u8) · total (u32 LE) · the staged bytes`. */
function writeStaged(medium: FlashMedium, s: Staged): void {
  const out = new Uint8Array(5 + s.received);
  out[0] = FT_TYPES.byName.get(s.kind)!;
  new DataView(out.buffer).setUint32(1, s.total, true);
  out.set(s.bytes.subarray(0, s.received), 5);
  medium.replace(STAGED_FILE, out);
}

function readStaged(medium: FlashMedium): Staged | null {
  const raw = medium.read(STAGED_FILE);
  if (!raw || raw.length < 5) return null;
  const kind = FT_TYPES.byCode.get(raw[0]!);
  const total = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(1, true);
  if (!kind || raw.length - 5 > total) return null;
  const bytes = new Uint8Array(total);
  bytes.set(raw.subarray(5), 0);
  return { kind, total, bytes, received: raw.length - 5 };
}

function mfg(reply: IqReply): HandlerReply {
  return { code: OSDP.MFGREP, data: encodeReply(reply) };
}

function error(command: CommandType, code: ErrorCode, value = 0, message = ''): ReplyOf<'error'> {
  return {
    type: 'error',
    version: 1,
    command: COMMANDS.byName.get(command) ?? 0,
    error: code,
    field: 0,
    min_version: SUPPORTED_VERSIONS.min,
    max_version: SUPPORTED_VERSIONS.max,
    value,
    message: message.slice(0, LIMITS.maxErrorMessageBytes),
  };
}
