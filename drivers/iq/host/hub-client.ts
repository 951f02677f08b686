// The host side of one IQ hub: an OSDP control panel on the hub's byte stream, speaking the IQ protocol
// (docs/iq-protocol.md). It offers what the core's device manager needs of a connected hub
// (core/devices/ports.ts HubConnection, matched structurally: drivers/ never import core/) and the lock
// commands the device manager drives.
//
// - Every IQ command is safe to repeat, so a `busy` answer is waited out and the identical command sent
//   again, up to a deadline.
// - Events are fetched after the hub's own acknowledged id, never after a cursor of ours: a lost
//   acknowledgement only brings the same ids back, and the core stores them once.
// - osdp_POLL every second carries EVENTS_PENDING and keeps the secure session (8 s idle timeout at the
//   hub) alive.
// - The client ends for good when its stream closes, when the hub's key is wrong, or when the hub has not
//   answered for a while; onClose listeners hear it once.
import { systemClock, type Clock, type Timer } from '../../osdp/clock.ts';
import { Command, commandName, Reply, replyName } from '../../osdp/codes.ts';
import { encodeBeeps, encodeTemporaryFlash } from '../../osdp/indication.ts';
import { ControlPanel, type ControlPanelOptions, type KeyRequest, type LinkState, type ReplyMessage, type SecureChannelConfig } from '../../osdp/control-panel.ts';
import { OsdpError, type OsdpErrorCode } from '../../osdp/errors.ts';
import type { ByteLink } from '../../osdp/link.ts';
import { MAX_PACKET_LENGTH } from '../../osdp/packet.ts';
import { sameBytes, SCBK_D } from '../../osdp/secure-channel.ts';
import { invokeListener, type ByteStream } from '../../transport/byte-stream.ts';
import { LIMITS, OSDP, VENDOR_CODE, type FtKind, type LockState, type OfficeMode } from '../codes.ts';
import { decodeFtStat, encodeFileTransfer, tableFileHead } from '../file-transfer.ts';
import type { HubEvent, IqCommand, IqReply, LockStatus, PairedLock, TableVersion } from '../messages.ts';
import { decodeReply, encodeCommand } from '../mfg.ts';
import { siteKeyFingerprint } from '../site-key.ts';
import { epochHex, eventId, formatAddress, hashBytes, parseAddress, signalBars, toHex, toIngest, type IngestShapes } from './convert.ts';
import { commandLabel, hubError, IqHubError, tableRefused } from './errors.ts';
import { FALLBACK_RECEIVE_SIZE, receiveSize } from './pdcap.ts';
import { stageFile, type TransferIo } from './table-transfer.ts';

// ── Shapes (core/devices/ports.ts, mirrored) ──────────────────────────────────────────────────────

export interface IqActiveTable {
  version: number;
  /** 64 hex digits, as the core writes table hashes. */
  hash: string;
}

export interface IqHubIdentity {
  /** "00-14-22-01-23-45". */
  mac: string;
  serial: string;
  firmware: string;
  table: IqActiveTable | null;
  /** 0–5 bars (signalBars), null for a hub without a radio reading. */
  signal_strength: number | null;
}

export interface IqHubClock {
  utc_ms: number;
  zone: string;
  /** Offset (minutes) before the first transition. */
  initial_offset_min: number;
  transitions: Array<{ at_ms: number; offset_min: number }>;
}

export interface IqTablePush {
  kind: 'full' | 'diff';
  bytes: Uint8Array;
  version: number;
  hash: string;
}

export interface IqEventBatch extends IngestShapes {
  /** The id to acknowledge once the batch is stored; null when the hub had nothing. */
  last_id: number | null;
  /** The hub holds events after this batch. */
  more: boolean;
  /** Events the hub's full ring overwrote before they were fetched (the gap before this batch). */
  lost: number;
}

export interface IqLock {
  lock_index: number;
  /** The core's lock id, as given at pairing. */
  lock_id: string;
  /** Radio address, "00-11-22-33-44-55" (EUI-48) or eight bytes (EUI-64). */
  address: string;
  /** Empty when the lock did not report one. */
  serial: string;
}

/** What a paired lock reports through the hub (STATUS), by the core's lock id. */
export type IqLockStatus = Omit<LockStatus, 'lock_index'> & { lock_id: string };

/** The site's card key (docs/credentials.md) as SET_SITE_KEY carries it. */
export interface IqSiteKey {
  generation: number;
  /** The core's site id, a lower-case UUID. */
  site_id: string;
  /** 16 bytes. */
  key: Uint8Array;
}

export interface IqLockCommandResult {
  lock_id: string;
  /** The confirmation reference had been carried out before: nothing was done again. */
  replayed: boolean;
  lock_state: LockState;
  office_mode: OfficeMode;
}

/** A plain byte link, or a transport stream whose end the client follows and which it closes when it ends. */
export type HubLink = ByteLink | ByteStream;

export interface IqHubClientOptions {
  link: HubLink;
  /** Where the hub is attached ("usb:1-2.3", "tcp:192.168.1.20:7374"), for logs and the hubs page. */
  address: string;
  /** The hub's OSDP address; 0 for a hub alone on its link. */
  osdpAddress?: number;
  /** Omit only for a test rig: a hub answers every IQ command outside a secure channel with NAK 0x06. */
  secureChannel?: SecureChannelConfig;
  clock?: Clock;
  /** Wall-clock epoch ms: the time given to events a hub stamped while its clock was unset. */
  now?: () => number;
  /** osdp_POLL interval. Default 1000 ms. */
  pollIntervalMs?: number;
  /** How long the hub may stay unreachable before the client ends. Default 60 s. */
  giveUpAfterMs?: number;
  /** How long a command may be answered `busy` before it fails. Default 60 s. */
  busyTimeoutMs?: number;
  log?: (level: 'info' | 'warn', message: string) => void;
  /** Link-layer tuning (drivers/osdp defaults otherwise). */
  osdp?: Pick<ControlPanelOptions, 'replyTimeoutMs' | 'maxRetries' | 'busyRetryMs' | 'reconnectMinMs' | 'reconnectMaxMs' | 'random'>;
}

const POLL_INTERVAL_MS = 1000;
const GIVE_UP_AFTER_MS = 60_000;
const BUSY_TIMEOUT_MS = 60_000;
/** Bounds on the wait a `busy` answer asks for: never a tight loop, never a stall. */
const MIN_BUSY_WAIT_MS = 50;
const MAX_BUSY_WAIT_MS = 5000;
/**
 * The span the core computes a zone's transitions over (core/devices/hub-session.ts: 4 days back,
 * 445 ahead), so the window SET_TIME claims is the one the list covers. HubClock does not carry it.
 */
const CLOCK_WINDOW_BACK_MS = 4 * 86_400_000;
const CLOCK_WINDOW_AHEAD_MS = 445 * 86_400_000;
/** Handshake failures that retrying cannot mend: an installer has to act. */
const SECURE_CHANNEL_FAILURES: ReadonlySet<OsdpErrorCode> = new Set(['key_mismatch', 'install_mode', 'install_mode_refused', 'secure_channel_refused']);
const EMPTY = new Uint8Array(0);

type AnswerType = Exclude<IqReply['type'], 'error' | 'events_pending'>;
/** The reply of type T (ReplyOf cannot pick one type out of a member that covers several, like the lock results). */
type Answer<T extends AnswerType> = IqReply & { type: T };

interface Sleep {
  timer: Timer;
  reject: (error: unknown) => void;
}

export class IqHubClient {
  readonly address: string;
  readonly #link: HubLink;
  readonly #cp: ControlPanel;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #pollMs: number;
  readonly #giveUpMs: number;
  readonly #busyTimeoutMs: number;
  readonly #log: (level: 'info' | 'warn', message: string) => void;
  readonly #pendingListeners = new Set<() => void>();
  readonly #closeListeners = new Set<(reason: string) => void>();
  readonly #sleeps = new Set<Sleep>();
  readonly #ready: { promise: Promise<void>; resolve: () => void; reject: (error: IqHubError) => void };
  #unsubscribe: Array<() => void> = [];
  #ended: { reason: string; error: IqHubError; closing: Promise<void> } | null = null;
  /** The link has been up once: connect() has resolved and polling runs. */
  #started = false;
  #pollTimer: Timer | null = null;
  #giveUpTimer: Timer | null = null;
  #inFlight = 0;
  /** Set while a hub that does not interleave (FtAction bit 0 clear) is between two fragments. */
  #hold: { done: Promise<void>; release: () => void } | null = null;
  // What we know of the hub: read again after every reconnect, which may follow a reboot or a reset.
  #maxPacket: number | null = null;
  #ring: { epoch: number; acked: number } | null = null;
  #locks: Map<number, IqLock> | null = null;
  /** The epoch of the last batch handed out, which its acknowledgement must name. */
  #batchEpoch: number | null = null;
  readonly #encrypted: boolean;
  /** The secure channel runs under the hub's own key, not SCBK-D (which everyone knows): it may carry the site key. */
  #ownKey: boolean;

  /** Connects and resolves once the link is up (handshake done, hub identified as a Gatehouse IQ). */
  static async connect(options: IqHubClientOptions): Promise<IqHubClient> {
    const client = new IqHubClient(options);
    await client.#ready.promise;
    return client;
  }

  private constructor(o: IqHubClientOptions) {
    this.address = o.address;
    this.#link = o.link;
    this.#clock = o.clock ?? systemClock;
    this.#now = o.now ?? Date.now;
    this.#pollMs = o.pollIntervalMs ?? POLL_INTERVAL_MS;
    this.#giveUpMs = o.giveUpAfterMs ?? GIVE_UP_AFTER_MS;
    this.#busyTimeoutMs = o.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
    this.#log = o.log ?? (() => {});
    let resolve!: () => void;
    let reject!: (error: IqHubError) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // connect() is the only reader; a rejection after it returned has nobody to tell.
    promise.catch(() => {});
    this.#ready = { promise, resolve, reject };
    const sc = o.secureChannel;
    this.#encrypted = sc !== undefined && sc.encrypt !== false;
    this.#ownKey = sc !== undefined && 'scbk' in sc && !sameBytes(sc.scbk, SCBK_D);
    // A chosen key is known only once a handshake accepted it, and again at every reconnect.
    const secureChannel =
      sc && 'chooseKey' in sc
        ? {
            ...sc,
            chooseKey: {
              candidates: sc.chooseKey.candidates.bind(sc.chooseKey),
              accepted: (key: Uint8Array, request: KeyRequest) => {
                this.#ownKey = !request.installMode && !sameBytes(key, SCBK_D);
                sc.chooseKey.accepted?.(key, request);
              },
            },
          }
        : sc;
    this.#cp = new ControlPanel({
      ...o.osdp,
      link: o.link,
      address: o.osdpAddress ?? 0,
      secureChannel,
      clock: this.#clock,
      onStateChange: (state, error) => this.#onLinkState(state, error),
    });
    if ('onClose' in o.link) {
      this.#unsubscribe.push(o.link.onClose((r) => this.#end(r.message, new IqHubError('closed', `the link to the hub closed: ${r.message}`))));
    }
    this.#cp.start();
  }

  // ── HubConnection ───────────────────────────────────────────────────────────────────────────────

  async identify(): Promise<IqHubIdentity> {
    const s = await this.#status();
    return { mac: formatAddress(s.mac), serial: s.serial, firmware: s.firmware, table: activeTable(s.table), signal_strength: signalBars(s.signal_dbm) };
  }

  async setClock(clock: IqHubClock): Promise<void> {
    const first = clock.transitions[0]?.at_ms ?? clock.utc_ms;
    const last = clock.transitions.at(-1)?.at_ms ?? clock.utc_ms;
    await this.#mfg(
      {
        type: 'set_time',
        utc_ms: clock.utc_ms,
        zone: clock.zone,
        valid_from_ms: Math.min(clock.utc_ms - CLOCK_WINDOW_BACK_MS, first),
        valid_until_ms: Math.max(clock.utc_ms + CLOCK_WINDOW_AHEAD_MS, last + 1),
        initial_offset_min: clock.initial_offset_min,
        // Zone transitions fall on whole seconds; the wire counts seconds.
        transitions: clock.transitions.map((t) => ({ instant_s: Math.floor(t.at_ms / 1000), offset_min: t.offset_min })),
      },
      'time_set',
    );
  }

  /**
   * Stages the file (resuming a staged prefix of it), then activates it. Resolves with what the hub
   * enforces; rejects with `table_refused` (the outcome, and what stays in force) when it refuses.
   */
  async activateTable(push: IqTablePush): Promise<IqActiveTable> {
    const kind: FtKind = push.kind === 'full' ? 'table' : 'diff';
    const hash = checkedPushHash(push, kind);
    for (let round = 0; ; round++) {
      const resumedFrom = await stageFile(this.#transferIo(), push.bytes, kind);
      if (resumedFrom > 0) this.#log('info', `resumed the table transfer at byte ${resumedFrom} of ${push.bytes.length}`);
      const a = await this.#mfg({ type: 'activate_table', ft_type: kind, version: push.version, hash }, 'activation');
      const enforced = activeTable(a.table);
      // The decoder refuses these two outcomes without a table.
      if (a.outcome === 'activated' || a.outcome === 'already_active') return enforced!;
      // The staged file went away between the last fragment and the activation (a restart, another
      // host starting a file): it is sent once more.
      if ((a.outcome === 'no_file' || a.outcome === 'incomplete') && round === 0) continue;
      throw tableRefused(a.outcome, enforced);
    }
  }

  async fetchEvents(max: number): Promise<IqEventBatch> {
    const { epoch, acked } = await this.#ringState();
    const count = Math.min(Math.max(Math.floor(max) || 1, 1), LIMITS.maxEventsPerFetch);
    const r = await this.#mfg({ type: 'fetch_events', epoch, after_id: acked, max_events: count }, 'events');
    this.#noteRing(r.epoch, r.acked_id);
    const first = r.events[0];
    const lost = first && r.epoch === epoch && first.id > acked + 1 ? first.id - acked - 1 : 0;
    if (lost > 0) {
      this.#log('warn', `the hub's event ring overflowed: events ${acked + 1}–${first!.id - 1} of epoch ${epochHex(epoch)} were lost before Gatehouse fetched them`);
    }
    const lockIds = await this.#lockIdsFor(r.events, r.epoch);
    const shapes = toIngest(r.events, r.epoch, (index) => lockIds.get(index)!, this.#now());
    const last = r.events.at(-1)?.id ?? null;
    if (last !== null) this.#batchEpoch = r.epoch;
    return { ...shapes, last_id: last, more: last !== null && r.newest_id > last, lost };
  }

  async ackEvents(upToId: number): Promise<void> {
    const epoch = this.#batchEpoch ?? (await this.#ringState()).epoch;
    try {
      const r = await this.#mfg({ type: 'ack_events', epoch, through_id: upToId }, 'events_acked');
      this.#noteRing(r.epoch, r.acked_id);
    } catch (e) {
      // The ring the batch came from is gone (the hub was reset): there is nothing of it left to free.
      if (!isHubError(e, 'epoch_mismatch')) throw e;
      this.#ring = null;
      this.#log('info', 'the hub was reset since its events were fetched: its old event ring is gone, nothing to acknowledge');
    }
  }

  onEventsPending(listener: () => void): () => void {
    this.#pendingListeners.add(listener);
    return () => this.#pendingListeners.delete(listener);
  }

  onClose(listener: (reason: string) => void): () => void {
    const ended = this.#ended;
    if (ended) {
      let active = true;
      queueMicrotask(() => {
        if (active) invokeListener(listener, ended.reason);
      });
      return () => {
        active = false;
      };
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#end('closed by Gatehouse', new IqHubError('closed', 'the link to the hub was closed by Gatehouse'));
    await this.#ended!.closing;
  }

  // ── Locks and the hub itself ────────────────────────────────────────────────────────────────────

  /** Every lock paired with the hub, read from the hub. */
  async listLocks(): Promise<IqLock[]> {
    return [...(await this.#lockMap(true)).values()];
  }

  /** The state of every paired lock, all pages of STATUS. A lock paired since our last list is looked up again. */
  async lockStatuses(): Promise<IqLockStatus[]> {
    const statuses: LockStatus[] = [];
    for (let first = 1; first !== 0; ) {
      const page = await this.#mfg({ type: 'get_status', first_lock_index: first }, 'status');
      this.#noteRing(page.epoch, page.acked_id);
      statuses.push(...page.locks);
      first = page.next_lock_index;
    }
    let map = await this.#lockMap(false);
    if (statuses.some((l) => !map.has(l.lock_index))) map = await this.#lockMap(true);
    return statuses.flatMap((l) => {
      const lock = map.get(l.lock_index);
      if (!lock) return [];
      const { lock_index: _, ...rest } = l;
      return [{ lock_id: lock.lock_id, ...rest }];
    });
  }

  /** Makes the hub show itself (osdp_LED flashing green/amber for `seconds`, three beeps by osdp_BUZ). */
  async identifyBlink(seconds: number): Promise<void> {
    const forMs = Math.min(Math.max(seconds, 1), 600) * 1000;
    for (const [code, data] of [
      [Command.LED, encodeTemporaryFlash({ onMs: 300, offMs: 300, on: 'green', off: 'amber', forMs })],
      [Command.BUZ, encodeBeeps({ count: 3, onMs: 200, offMs: 200 })],
    ] as const) {
      const reply = await this.#send(code, data, false);
      if (reply.code !== Reply.ACK) throw new IqHubError('protocol', `the hub answered ${commandName(code)} with ${replyName(reply.code)} instead of osdp_ACK`);
    }
  }

  /** Pairs a lock by radio address; `serial` empty skips the hub's serial check. Pairing again is harmless. */
  async pairLock(lock: { address: string; serial: string; lock_id: string }): Promise<IqLock & { already_paired: boolean }> {
    const address = parseAddress(lock.address);
    if (!address) throw new IqHubError('invalid_input', `"${lock.address}" is not a radio address (6 or 8 bytes in hex)`);
    const r = await this.#mfg({ type: 'pair_lock', address, serial: lock.serial, lock_id: lock.lock_id }, 'lock_paired');
    const paired = lockInfo(r.lock);
    this.#locks?.set(paired.lock_index, paired);
    return { ...paired, already_paired: r.already_paired };
  }

  /** Forgets a lock; a lock the hub does not list is already forgotten. */
  async unpairLock(lockId: string): Promise<void> {
    const lock = await this.#findLock(lockId, false);
    if (!lock) return;
    try {
      await this.#mfg({ type: 'unpair_lock', lock_index: lock.lock_index, lock_id: lockId }, 'lock_unpaired');
    } catch (e) {
      // A repeat after a lost reply, or someone was faster: either way the lock is gone.
      if (!isHubError(e, 'not_paired')) throw e;
    }
    this.#locks?.delete(lock.lock_index);
  }

  /** Opens the door once. `confirmation` (16 random bytes per operator action) makes a repeat harmless. */
  remoteOpen(lockId: string, operatorRef: string, confirmation: Uint8Array): Promise<IqLockCommandResult> {
    return this.#lockCommand(lockId, (lock_index) => ({ type: 'remote_open', lock_index, operator_ref: operatorRef, confirmation }), 'remote_opened');
  }

  setManualOfficeMode(lockId: string, on: boolean, operatorRef: string, confirmation: Uint8Array): Promise<IqLockCommandResult> {
    return this.#lockCommand(lockId, (lock_index) => ({ type: 'manual_office_mode', lock_index, on, operator_ref: operatorRef, confirmation }), 'manual_office_mode_set');
  }

  /** Puts the lock in tag registration mode for `seconds` (15–3600; 0 stops it). */
  startTagRegistration(lockId: string, seconds: number): Promise<{ lock_id: string; remaining_s: number }> {
    return this.#withLock(lockId, async (lock_index) => {
      const r = await this.#mfg({ type: 'tag_registration', lock_index, timeout_s: seconds }, 'tag_registration_set');
      return { lock_id: lockId, remaining_s: r.remaining_s };
    });
  }

  /** Gives the hub a new secure-channel key (osdp_KEYSET) and resolves once the link is up again with it. */
  async setKey(scbk: Uint8Array): Promise<void> {
    if (scbk.length !== 16) throw new IqHubError('invalid_input', `a secure-channel key is 16 bytes, got ${scbk.length}`);
    if (this.#ended) throw this.#ended.error;
    try {
      await this.#cp.setKey(scbk);
    } catch (e) {
      throw this.#fromLink(e);
    }
    this.#ownKey = !sameBytes(scbk, SCBK_D);
  }

  /** The fingerprint (16 hex digits) of the site card key the hub holds (SITE_KEY_STATUS), or null when it holds none. */
  async siteKeyFingerprint(): Promise<string | null> {
    const r = await this.#mfg({ type: 'site_key_status' }, 'site_key_state');
    return r.site_key && toHex(r.site_key.fingerprint);
  }

  /**
   * Gives the hub the site's card key (SET_SITE_KEY) and resolves with the fingerprint the hub then holds.
   * Only over a secure channel encrypted under the hub's own key: on any other link it fails before
   * anything is sent.
   */
  async setSiteKey(k: IqSiteKey): Promise<string> {
    if (!this.#cp.secure || !this.#encrypted || !this.#ownKey) {
      throw new IqHubError('secure_channel', "SET_SITE_KEY: the site card key goes to a hub only over a secure channel encrypted under the hub's own key, and this link is not one");
    }
    const r = await this.#mfg({ type: 'set_site_key', generation: k.generation, site_id: k.site_id, key: k.key }, 'site_key_set');
    const held = toHex(r.site_key.fingerprint);
    const sent = toHex(siteKeyFingerprint(k.key));
    if (held !== sent) throw new IqHubError('protocol', `the hub holds site key ${held} after SET_SITE_KEY, not ${sent}`);
    return held;
  }

  /** Wipes the hub (table, pairings, events: a new ring epoch); it keeps its key and restarts. */
  async factoryReset(): Promise<void> {
    const { serial } = await this.#status();
    const { nonce } = await this.#mfg({ type: 'reset_challenge' }, 'reset_nonce');
    await this.#mfg({ type: 'factory_reset', nonce, serial }, 'factory_reset_done');
    this.#ring = null;
    this.#locks = null;
  }

  // ── Requests ────────────────────────────────────────────────────────────────────────────────────

  /** One MFG command to its answer, waiting out `busy`. `bypassHold`: part of the transfer that holds the link. */
  async #mfg<T extends AnswerType>(cmd: IqCommand, expect: T, bypassHold = false): Promise<Answer<T>> {
    const label = commandLabel(cmd.type);
    let payload: Uint8Array;
    try {
      payload = encodeCommand(cmd);
    } catch (e) {
      if (e instanceof RangeError) throw new IqHubError('invalid_input', `${label}: ${e.message}`, { cause: e });
      throw e;
    }
    const deadline = this.#clock.now() + this.#busyTimeoutMs;
    for (;;) {
      const r = this.#decodeMfg(await this.#send(OSDP.MFG, payload, bypassHold), label);
      if (r.type === 'error') {
        if (r.error !== 'busy') throw hubError(cmd.type, r);
        const wait = Math.min(Math.max(r.value, MIN_BUSY_WAIT_MS), MAX_BUSY_WAIT_MS);
        if (this.#clock.now() + wait > deadline) {
          throw new IqHubError('busy', `${label}: the hub stayed busy for ${Math.round(this.#busyTimeoutMs / 1000)} s`, { hubError: 'busy' });
        }
        await this.#sleep(wait);
        continue;
      }
      if (r.type !== expect) throw new IqHubError('protocol', `the hub answered ${label} with ${commandLabel(r.type)}`);
      return r as Answer<T>;
    }
  }

  #decodeMfg(reply: ReplyMessage, label: string): IqReply {
    if (reply.code !== OSDP.MFGREP) throw new IqHubError('protocol', `the hub answered ${label} with ${replyName(reply.code)} instead of osdp_MFGREP`);
    const decoded = decodeReply(reply.data);
    if (!decoded.ok) throw new IqHubError('protocol', `the hub's answer to ${label} is unreadable: ${decoded.error.message}`);
    return decoded.value;
  }

  async #send(code: number, data: Uint8Array, bypassHold: boolean): Promise<ReplyMessage> {
    while (!bypassHold && this.#hold) await this.#hold.done;
    if (this.#ended) throw this.#ended.error;
    this.#inFlight++;
    try {
      return await this.#cp.send(code, data);
    } catch (e) {
      throw this.#fromLink(e);
    } finally {
      this.#inFlight--;
    }
  }

  #fromLink(e: unknown): unknown {
    if (this.#ended) return this.#ended.error;
    if (!(e instanceof OsdpError)) return e;
    if (SECURE_CHANNEL_FAILURES.has(e.code)) return new IqHubError('secure_channel', e.message, { osdp: e.code, cause: e });
    return new IqHubError('link', e.message, { osdp: e.code, cause: e });
  }

  #sleep(ms: number): Promise<void> {
    if (this.#ended) return Promise.reject(this.#ended.error);
    return new Promise((resolve, reject) => {
      const sleep: Sleep = {
        reject,
        timer: this.#clock.setTimeout(() => {
          this.#sleeps.delete(sleep);
          resolve();
        }, ms),
      };
      this.#sleeps.add(sleep);
    });
  }

  async #status(): Promise<Answer<'status'>> {
    const s = await this.#mfg({ type: 'get_status', first_lock_index: 1 }, 'status');
    this.#noteRing(s.epoch, s.acked_id);
    return s;
  }

  async #ringState(): Promise<{ epoch: number; acked: number }> {
    if (this.#ring) return this.#ring;
    const s = await this.#status();
    return { epoch: s.epoch, acked: s.acked_id };
  }

  #noteRing(epoch: number, acked: number): void {
    if (this.#ring && this.#ring.epoch !== epoch) {
      // Lock indices are unique within an epoch only.
      this.#locks = null;
      this.#log('info', `the hub started a new event ring (epoch ${epochHex(this.#ring.epoch)} → ${epochHex(epoch)}): it was reset`);
    }
    this.#ring = { epoch, acked };
  }

  // ── Locks ───────────────────────────────────────────────────────────────────────────────────────

  async #lockMap(refresh: boolean): Promise<Map<number, IqLock>> {
    if (this.#locks && !refresh) return this.#locks;
    const map = new Map<number, IqLock>();
    for (let first = 1; first !== 0; ) {
      const page = await this.#mfg({ type: 'list_locks', first_lock_index: first }, 'lock_list');
      for (const l of page.locks) map.set(l.lock_index, lockInfo(l));
      first = page.next_lock_index;
    }
    this.#locks = map;
    return map;
  }

  async #findLock(lockId: string, refresh: boolean): Promise<IqLock | undefined> {
    const find = (m: Map<number, IqLock>) => [...m.values()].find((l) => l.lock_id === lockId);
    const cached = !refresh && this.#locks ? find(this.#locks) : undefined;
    return cached ?? find(await this.#lockMap(true));
  }

  /** Runs `run` with the lock's index; a `not_paired` answer means our list was stale: read it again, once. */
  async #withLock<R>(lockId: string, run: (lockIndex: number) => Promise<R>): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      const lock = await this.#findLock(lockId, attempt > 0);
      if (!lock) throw new IqHubError('unknown_lock', `lock ${lockId} is not paired with this hub`);
      try {
        return await run(lock.lock_index);
      } catch (e) {
        if (attempt > 0 || !isHubError(e, 'not_paired')) throw e;
      }
    }
  }

  #lockCommand(lockId: string, build: (lockIndex: number) => IqCommand, expect: 'remote_opened' | 'manual_office_mode_set'): Promise<IqLockCommandResult> {
    return this.#withLock(lockId, async (lockIndex) => {
      const r = await this.#mfg(build(lockIndex), expect);
      return { lock_id: lockId, replayed: r.replayed, lock_state: r.lock_state, office_mode: r.office_mode };
    });
  }

  /** The core's lock id of every lock index in `events`, reading LIST_LOCKS again when one is new to us. */
  async #lockIdsFor(events: readonly HubEvent[], epoch: number): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    if (events.length === 0) return out;
    let locks = await this.#lockMap(false);
    if (events.some((e) => !locks.has(e.lock_index))) locks = await this.#lockMap(true);
    for (const e of events) {
      const lock = locks.get(e.lock_index);
      if (!lock) {
        // A hub refuses to unpair a lock with unacknowledged events, so this is a firmware fault.
        throw new IqHubError('unknown_lock', `event ${eventId(epoch, e.id)} names lock index ${e.lock_index}, which the hub does not list`);
      }
      out.set(e.lock_index, lock.lock_id);
    }
    return out;
  }

  // ── Table transfer ──────────────────────────────────────────────────────────────────────────────

  #transferIo(): TransferIo {
    return {
      fileStatus: () => this.#mfg({ type: 'file_status' }, 'file_state', true),
      send: async (ft) => {
        const reply = await this.#send(OSDP.FILETRANSFER, encodeFileTransfer(ft), true);
        if (reply.code !== OSDP.FTSTAT) throw new IqHubError('protocol', `the hub answered FILETRANSFER with ${replyName(reply.code)}`);
        const stat = decodeFtStat(reply.data);
        if (!stat.ok) throw new IqHubError('protocol', `the hub's FTSTAT is unreadable: ${stat.error.message}`);
        return stat.value;
      },
      maxPacket: () => this.#receiveSize(),
      setMaxPacket: (size) => {
        this.#maxPacket = Math.min(size, MAX_PACKET_LENGTH);
      },
      poll: () => this.#poll(true),
      sleep: (ms) => this.#sleep(ms),
      now: () => this.#clock.now(),
      interleave: (allowed) => this.#setInterleave(allowed),
    };
  }

  async #receiveSize(): Promise<number> {
    if (this.#maxPacket !== null) return this.#maxPacket;
    const reply = await this.#send(Command.CAP, Uint8Array.of(0), true);
    if (reply.code !== Reply.PDCAP) throw new IqHubError('protocol', `the hub answered osdp_CAP with ${replyName(reply.code)}`);
    const size = receiveSize(reply.data);
    if (size === null) this.#log('warn', `the hub's osdp_PDCAP states no receive size: tables go in ${FALLBACK_RECEIVE_SIZE}-byte packets`);
    this.#maxPacket = size ?? FALLBACK_RECEIVE_SIZE;
    return this.#maxPacket;
  }

  #setInterleave(allowed: boolean): void {
    if (allowed) {
      this.#hold?.release();
      this.#hold = null;
    } else if (!this.#hold) {
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      this.#hold = { done, release };
    }
  }

  // ── Polling and the link's life ─────────────────────────────────────────────────────────────────

  async #poll(bypassHold: boolean): Promise<void> {
    const reply = await this.#send(Command.POLL, EMPTY, bypassHold);
    if (reply.code === Reply.ACK) return;
    const r = this.#decodeMfg(reply, 'osdp_POLL');
    if (r.type !== 'events_pending') throw new IqHubError('protocol', `the hub answered osdp_POLL with ${commandLabel(r.type)}`);
    for (const listener of [...this.#pendingListeners]) invokeListener<undefined>(listener, undefined);
  }

  #schedulePoll(): void {
    if (this.#ended) return;
    this.#pollTimer = this.#clock.setTimeout(() => {
      this.#pollTimer = null;
      void this.#pollOnce().finally(() => this.#schedulePoll());
    }, this.#pollMs);
  }

  async #pollOnce(): Promise<void> {
    // Any command keeps the session alive and the hub answers one at a time: a busy link needs no poll.
    if (this.#inFlight > 0 || this.#hold || this.#cp.state !== 'online') return;
    try {
      await this.#poll(false);
    } catch (e) {
      // Link failures surface through the link's state (and give-up); anything else is the hub's fault.
      if (e instanceof IqHubError && e.code === 'protocol') this.#log('warn', e.message);
    }
  }

  #onLinkState(state: LinkState, error: OsdpError | null): void {
    if (this.#ended) return;
    if (state === 'online') {
      this.#giveUpTimer?.cancel();
      this.#giveUpTimer = null;
      this.#maxPacket = null;
      this.#ring = null;
      this.#locks = null;
      const notHub = notAGatehouseHub(this.#cp.identity);
      if (notHub) return this.#end(notHub.message, notHub);
      if (!this.#started) {
        this.#started = true;
        this.#schedulePoll();
        this.#ready.resolve();
      }
      return;
    }
    if (state !== 'offline' || !error) return;
    if (SECURE_CHANNEL_FAILURES.has(error.code)) {
      const fatal = new IqHubError('secure_channel', error.message, { osdp: error.code, cause: error });
      return this.#end(fatal.message, fatal);
    }
    this.#giveUpTimer ??= this.#clock.setTimeout(() => {
      const why = this.#cp.lastError?.message ?? error.message;
      const failure = new IqHubError('link', `the hub has not answered for ${Math.round(this.#giveUpMs / 1000)} s: ${why}`, { osdp: 'no_reply' });
      this.#end(failure.message, failure);
    }, this.#giveUpMs);
  }

  #end(reason: string, error: IqHubError): void {
    if (this.#ended) return;
    this.#ended = { reason, error, closing: Promise.resolve() };
    // Unsubscribed before the stream is closed: its close would otherwise come back here as another reason.
    for (const off of this.#unsubscribe.splice(0)) off();
    if ('close' in this.#link) this.#ended.closing = this.#link.close();
    this.#pollTimer?.cancel();
    this.#giveUpTimer?.cancel();
    for (const sleep of this.#sleeps) {
      sleep.timer.cancel();
      sleep.reject(error);
    }
    this.#sleeps.clear();
    this.#setInterleave(true);
    this.#cp.stop();
    this.#ready.reject(error);
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    for (const listener of listeners) invokeListener(listener, reason);
  }
}

function activeTable(t: TableVersion | null): IqActiveTable | null {
  return t && { version: t.version, hash: toHex(t.hash) };
}

function lockInfo(l: PairedLock): IqLock {
  return { lock_index: l.lock_index, lock_id: l.lock_id, address: formatAddress(l.address), serial: l.serial };
}

function isHubError(e: unknown, code: IqHubError['details']['hubError']): boolean {
  return e instanceof IqHubError && e.details.hubError === code;
}

/** The hash ACTIVATE_TABLE names, after checking the file's head agrees with the push. */
function checkedPushHash(push: IqTablePush, kind: FtKind): Uint8Array {
  const head = tableFileHead(push.bytes);
  if (!head.ok) throw new IqHubError('invalid_input', `the table file is neither a GHAT table nor a GHAD diff: ${head.error.message}`);
  const wanted = kind === 'table' ? 'a GHAT table' : 'a GHAD diff';
  if (head.value.ft_type !== kind) throw new IqHubError('invalid_input', `a ${push.kind} push needs ${wanted}, but the file is not one`);
  const fileHash = toHex(head.value.ft_type === 'table' ? head.value.hash : head.value.to_hash);
  const hash = hashBytes(push.hash);
  if (!hash) throw new IqHubError('invalid_input', `the table hash "${push.hash}" is not 64 hex digits`);
  if (fileHash !== push.hash.toLowerCase()) {
    throw new IqHubError('invalid_input', `the file leads to table ${fileHash.slice(0, 12)}…, not ${push.hash.slice(0, 12)}… as the push says`);
  }
  return hash;
}

/** osdp_PDID starts with the vendor code; anything else on the link is not ours to drive. */
function notAGatehouseHub(pdid: Uint8Array | null): IqHubError | null {
  if (pdid && pdid.length >= 3 && VENDOR_CODE.every((b, i) => pdid[i] === b)) return null;
  const said = pdid && pdid.length >= 3 ? `vendor code ${formatAddress(pdid.subarray(0, 3))}` : 'no vendor code';
  return new IqHubError('not_a_hub', `the device is not a Gatehouse IQ hub: its osdp_PDID has ${said}, a hub's is ${formatAddress(Uint8Array.from(VENDOR_CODE))}`);
}
