// The CP (control panel) end of an OSDP link: Gatehouse talking to one IQ hub.
//
// Rules (libosdp src/osdp_cp.c, src/osdp_phy.c; SIA OSDP v2.2 §5):
//  - One command in flight. Each new command takes the next SQN, 1→2→3→1; SQN 0 (re)starts the
//    link, and the PD then drops its sequence state and any secure channel.
//  - No valid reply within the reply timeout: resend the very same bytes, same SQN, same MAC. The PD
//    recognises the repeat and resends its cached reply, so a lost reply never makes the PD act twice
//    nor loses the event the reply carried. After `maxRetries` resends the link goes offline and
//    reconnects with exponential backoff.
//  - osdp_BUSY (always SQN 0): wait `busyRetryMs`, resend the same bytes.
//  - NAK "sequence number" or "security conditions": the PD did not act; restart (SQN 0, handshake)
//    and send the command again. Any other NAK is the command's answer, surfaced as OsdpError 'nak'.
//  - Connecting: osdp_ID at SQN 0 (harmless to repeat), then, when configured, the secure-channel
//    handshake CHLNG → CCRYPT → SCRYPT → RMAC_I; afterwards every packet is MACed and its data encrypted.
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock, type Timer } from './clock.ts';
import { Command, commandName, NakReason, nakReasonText, Reply, replyName, Scs } from './codes.ts';
import { OsdpError } from './errors.ts';
import type { ByteLink } from './link.ts';
import { DEFAULT_INTER_CHARACTER_TIMEOUT_MS, PacketReceiver } from './packet-receiver.ts';
import { encodePacket, HEADER_LENGTH, MAC_LENGTH, MAX_PACKET_LENGTH, nextSqn, type CheckKind, type Packet, type PacketFields, type Sqn } from './packet.ts';
import {
  clientCryptogram,
  deriveSessionKeys,
  encodeKeySet,
  initialRmac,
  KEY_LENGTH,
  sameBytes,
  SCBK_D,
  SecureSession,
  serverCryptogram,
} from './secure-channel.ts';
import type { StreamParserStats } from './stream-parser.ts';

export type SecureChannelConfig =
  /** Handshake with this SCBK: a provisioned hub. */
  | { scbk: Uint8Array; encrypt?: boolean }
  /** Handshake with SCBK-D: a hub in install mode, about to receive its key with `setKey`. */
  | { installMode: true; encrypt?: boolean }
  /** Pick the key once the PD has named itself in osdp_CCRYPT (see KeyChooser). */
  | { chooseKey: KeyChooser; encrypt?: boolean };

/** What the CP knows of the PD when it has to pick a key: step 2 of the handshake, before anything is proven. */
export interface KeyRequest {
  /** The cUID the PD sent in osdp_CCRYPT (8 bytes): who it says it is. */
  clientUid: Uint8Array;
  /** The PD answered with SCBK-D: it is in install mode. */
  installMode: boolean;
}

/**
 * Chooses the key for one handshake. The CP always asks for the provisioned key (SCBK); a PD without one
 * answers with SCBK-D and says so (`installMode`). `candidates` returns the keys to try, in order: the CP
 * checks each against the PD's client cryptogram locally (no extra round trip) and goes on with the
 * first that matches. In install mode only SCBK-D can match, so returning it accepts the PD in install
 * mode and leaving it out refuses (`install_mode`); a provisioned PD that matches none of the keys is
 * `key_mismatch`. Called at every handshake until `setKey` fixes the key. A throw fails the handshake.
 */
export interface KeyChooser {
  candidates(request: KeyRequest): readonly Uint8Array[] | Promise<readonly Uint8Array[]>;
  /** The handshake succeeded with this candidate (a copy), under that request. */
  accepted?(key: Uint8Array, request: KeyRequest): void;
}

export interface ControlPanelOptions {
  link: ByteLink;
  /** The PD's address, 0x00–0x7E (0x7F: broadcast). */
  address: number;
  /** Omit for a plaintext link. */
  secureChannel?: SecureChannelConfig;
  clock?: Clock;
  /** Source of RND.A. */
  random?: (length: number) => Uint8Array;
  /** Default 200 ms, the PD's reply deadline (libosdp OSDP_RESP_TOUT_MS). */
  replyTimeoutMs?: number;
  /** Resends of one packet before the link goes offline. Default 8 (libosdp OSDP_CMD_MAX_RETRIES). */
  maxRetries?: number;
  /** Wait after osdp_BUSY. Default 800 ms (libosdp OSDP_CMD_RETRY_WAIT_MS). */
  busyRetryMs?: number;
  /** First reconnect delay after going offline; doubles per failure. Default 1000 ms. */
  reconnectMinMs?: number;
  /** Default 300 s (libosdp OSDP_ONLINE_RETRY_WAIT_MAX_MS). */
  reconnectMaxMs?: number;
  interCharacterTimeoutMs?: number;
  check?: CheckKind;
  onStateChange?: (state: LinkState, error: OsdpError | null) => void;
}

export type LinkState = 'stopped' | 'connecting' | 'online' | 'offline';

export interface ReplyMessage {
  code: number;
  data: Uint8Array;
}

export interface ControlPanelStats {
  commands: number;
  retransmits: number;
  busy: number;
  restarts: number;
  /** Replies for another SQN than the one in flight (late duplicates), ignored. */
  staleReplies: number;
  /** Replies whose MAC or encryption did not check out, ignored as if corrupted. */
  rejectedReplies: number;
}

interface Job {
  run: () => Promise<ReplyMessage>;
  resolve: (reply: ReplyMessage) => void;
  reject: (error: unknown) => void;
}

/** What a reply means to the exchange waiting for it: its answer, or null for "not this one, keep waiting". */
type Acceptor<T> = (packet: Packet) => T | null;

interface Waiter {
  deliver: (packet: Packet) => void;
  abort: (error: OsdpError) => void;
}

const MAX_RESTARTS_PER_COMMAND = 3;
/** The most command data that still fits in one packet once sealed: header, security block, code, a block of padding, MAC, CRC. */
const MAX_COMMAND_DATA = MAX_PACKET_LENGTH - (HEADER_LENGTH + 2 + 1 + 16 + MAC_LENGTH + 2);
const SCB_PROVISIONED_KEY = 0x01;
const SCB_DEFAULT_KEY = 0x00;

export class ControlPanel {
  readonly stats: ControlPanelStats = { commands: 0, retransmits: 0, busy: 0, restarts: 0, staleReplies: 0, rejectedReplies: 0 };
  readonly #link: ByteLink;
  readonly #address: number;
  readonly #clock: Clock;
  readonly #random: (length: number) => Uint8Array;
  readonly #replyTimeoutMs: number;
  readonly #maxRetries: number;
  readonly #busyRetryMs: number;
  readonly #reconnectMinMs: number;
  readonly #reconnectMaxMs: number;
  readonly #check: CheckKind;
  readonly #encrypt: boolean;
  readonly #onStateChange: ((state: LinkState, error: OsdpError | null) => void) | undefined;
  readonly #receiver: PacketReceiver;

  /** The SCBK to handshake with, SCBK-D in install mode, or null for a plaintext link (or one whose key is chosen per handshake). */
  #scbk: Uint8Array | null;
  #installMode: boolean;
  /** Picks the key at each handshake, until setKey fixes it. */
  #chooser: KeyChooser | null;
  #state: LinkState = 'stopped';
  #lastError: OsdpError | null = null;
  #sqn: Sqn = 0;
  #session: SecureSession | null = null;
  #identity: Uint8Array | null = null;
  #queue: Job[] = [];
  #pumping = false;
  #waiter: Waiter | null = null;
  #reconnect: Timer | null = null;
  #backoffMs: number;

  constructor(options: ControlPanelOptions) {
    if (!Number.isInteger(options.address) || options.address < 0 || options.address > 0x7f) {
      throw new RangeError(`PD address must be 0x00–0x7F, got ${options.address}`);
    }
    this.#link = options.link;
    this.#address = options.address;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.#replyTimeoutMs = options.replyTimeoutMs ?? 200;
    this.#maxRetries = options.maxRetries ?? 8;
    this.#busyRetryMs = options.busyRetryMs ?? 800;
    this.#reconnectMinMs = options.reconnectMinMs ?? 1000;
    this.#reconnectMaxMs = options.reconnectMaxMs ?? 300_000;
    this.#backoffMs = this.#reconnectMinMs;
    this.#check = options.check ?? 'crc';
    this.#onStateChange = options.onStateChange;
    const sc = options.secureChannel;
    this.#encrypt = sc?.encrypt ?? true;
    this.#installMode = sc !== undefined && 'installMode' in sc;
    this.#chooser = sc !== undefined && 'chooseKey' in sc ? sc.chooseKey : null;
    this.#scbk = sc === undefined || this.#chooser ? null : 'scbk' in sc ? checkedKey(sc.scbk) : SCBK_D.slice();
    this.#receiver = new PacketReceiver(this.#link, this.#clock, options.interCharacterTimeoutMs ?? DEFAULT_INTER_CHARACTER_TIMEOUT_MS, (p) =>
      this.#onPacket(p),
    );
  }

  get state(): LinkState {
    return this.#state;
  }

  /** Why the link last went offline, or null. */
  get lastError(): OsdpError | null {
    return this.#lastError;
  }

  /** Whether commands currently travel under a secure channel. */
  get secure(): boolean {
    return this.#session !== null;
  }

  /** The data of the osdp_PDID the PD gave when the link last connected, or null. */
  get identity(): Uint8Array | null {
    return this.#identity;
  }

  get receiverStats(): Readonly<StreamParserStats> {
    return this.#receiver.stats;
  }

  /** Connects, and keeps reconnecting with backoff whenever the link goes offline, until `stop()`. */
  start(): void {
    if (this.#state !== 'stopped') return;
    this.#backoffMs = this.#reconnectMinMs;
    this.#receiver.start();
    this.#setState('connecting', null);
    void this.#pump();
  }

  stop(): void {
    if (this.#state === 'stopped') return;
    this.#reconnect?.cancel();
    this.#reconnect = null;
    this.#receiver.stop();
    this.#session = null;
    const error = new OsdpError('stopped', 'the OSDP link was stopped');
    this.#setState('stopped', null);
    this.#waiter?.abort(error);
    this.#rejectQueue(error);
  }

  /**
   * Sends one command and resolves with its reply. Rejects with OsdpError: 'nak' when the PD refused it
   * (it did not act), 'no_reply' when no reply came after every resend (it may have acted),
   * 'offline' or 'stopped' when it was never sent.
   */
  send(code: number, data: Uint8Array = new Uint8Array(0)): Promise<ReplyMessage> {
    if (data.length > MAX_COMMAND_DATA) {
      return Promise.reject(new OsdpError('too_large', `${commandName(code)} with ${data.length} data bytes does not fit in one OSDP packet`));
    }
    return this.#enqueue(() => this.#command(code, data));
  }

  /**
   * Gives the PD a new SCBK with osdp_KEYSET (only inside a secure channel), then reconnects with it.
   * Resolves once the handshake with the new key has succeeded; a PD in install mode leaves it.
   */
  setKey(scbk: Uint8Array): Promise<void> {
    const key = checkedKey(scbk);
    return this.#enqueue(async () => {
      if (!this.#session) throw new OsdpError('secure_channel_refused', 'osdp_KEYSET needs an established secure channel; configure secureChannel');
      const reply = await this.#transact(Command.KEYSET, encodeKeySet(key), true);
      if (reply.code !== Reply.ACK) throw unexpectedReply(Command.KEYSET, reply);
      this.#scbk = key;
      this.#installMode = false;
      this.#chooser = null;
      await this.#restart();
      return reply;
    }).then(() => undefined);
  }

  #enqueue(run: () => Promise<ReplyMessage>): Promise<ReplyMessage> {
    if (this.#state === 'stopped') return Promise.reject(new OsdpError('stopped', 'the OSDP link is stopped'));
    if (this.#state === 'offline') return Promise.reject(this.#offlineError());
    return new Promise((resolve, reject) => {
      this.#queue.push({ run, resolve, reject });
      void this.#pump();
    });
  }

  #offlineError(): OsdpError {
    const why = this.#lastError ? `: ${this.#lastError.message}` : '';
    return new OsdpError('offline', `the OSDP link is offline${why}`, { cause: this.#lastError ?? undefined });
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#state === 'connecting' || (this.#state === 'online' && this.#queue.length > 0)) {
        if (this.#state === 'connecting') {
          try {
            await this.#connect();
            this.#backoffMs = this.#reconnectMinMs;
            this.#setState('online', null);
          } catch (error) {
            this.#goOffline(asOsdpError(error));
          }
          continue;
        }
        const job = this.#queue.shift()!;
        try {
          job.resolve(await job.run());
        } catch (error) {
          const failure = asOsdpError(error);
          if (isLinkFailure(failure) && (this.#state === 'online' || this.#state === 'connecting')) this.#goOffline(failure);
          job.reject(failure);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #goOffline(error: OsdpError): void {
    if (this.#state === 'stopped') return;
    this.#session = null;
    this.#setState('offline', error);
    this.#rejectQueue(this.#offlineError());
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#reconnectMaxMs);
    this.#reconnect = this.#clock.setTimeout(() => {
      this.#reconnect = null;
      if (this.#state !== 'offline') return;
      this.#setState('connecting', null);
      void this.#pump();
    }, delay);
  }

  #setState(state: LinkState, error: OsdpError | null): void {
    if (error) this.#lastError = error;
    if (this.#state === state) return;
    this.#state = state;
    this.#onStateChange?.(state, error);
  }

  #rejectQueue(error: OsdpError): void {
    for (const job of this.#queue.splice(0)) job.reject(error);
  }

  async #command(code: number, data: Uint8Array): Promise<ReplyMessage> {
    this.stats.commands++;
    for (let restarts = 0; ; restarts++) {
      const reply = await this.#transact(code, data, this.#encrypt);
      if (reply.code !== Reply.NAK) return reply;
      const reason = reply.data[0] ?? 0;
      const secureChannel = this.#scbk !== null || this.#chooser !== null;
      const recoverable = reason === NakReason.SEQ_NUM || (reason === NakReason.SC_COND && secureChannel);
      if (!recoverable || restarts === MAX_RESTARTS_PER_COMMAND) {
        const hint = reason === NakReason.SC_COND && !secureChannel ? '; the hub requires a secure channel' : '';
        throw new OsdpError('nak', `the hub refused ${commandName(code)}: ${nakReasonText(reason)}${hint}`, { nakReason: reason });
      }
      await this.#restart();
    }
  }

  async #restart(): Promise<void> {
    this.stats.restarts++;
    this.#setState('connecting', null);
    await this.#connect();
    this.#setState('online', null);
  }

  async #connect(): Promise<void> {
    this.#session = null;
    const id = await this.#exchange(this.#packet(0, Command.ID, Uint8Array.of(0x00)), 0, plaintextReply);
    this.#sqn = 0;
    if (id.code === Reply.PDID) this.#identity = id.data.slice();
    if (this.#scbk || this.#chooser) await this.#handshake();
  }

  async #handshake(): Promise<void> {
    const chooser = this.#chooser;
    const keyFlag = this.#installMode && !chooser ? SCB_DEFAULT_KEY : SCB_PROVISIONED_KEY;
    const cpRandom = this.#random(8);
    const ccrypt = await this.#handshakeStep(Command.CHLNG, Scs.SCS_11, keyFlag, cpRandom);
    if (ccrypt.code === Reply.NAK) {
      if (keyFlag === SCB_DEFAULT_KEY && ccrypt.data[0] === NakReason.SC_COND) {
        throw new OsdpError('install_mode_refused', 'the hub is not in install mode: it refuses the default key SCBK-D; use its provisioned key');
      }
      throw new OsdpError('secure_channel_refused', `the hub refused the secure-channel challenge: ${nakReasonText(ccrypt.data[0] ?? 0)}`, { nakReason: ccrypt.data[0] });
    }
    if (ccrypt.code !== Reply.CCRYPT || ccrypt.scbType !== Scs.SCS_12 || ccrypt.data.length !== 32) throw unexpectedReply(Command.CHLNG, ccrypt);
    const pdUsedDefault = ccrypt.scbData[0] === SCB_DEFAULT_KEY;
    const pdRandom = ccrypt.data.subarray(8, 16);
    const theirCryptogram = ccrypt.data.subarray(16, 32);
    const matches = (key: Uint8Array) => sameBytes(clientCryptogram(deriveSessionKeys(key, cpRandom), cpRandom, pdRandom), theirCryptogram);
    let scbk: Uint8Array;
    let request: KeyRequest | null = null;
    if (chooser) {
      request = { clientUid: ccrypt.data.slice(0, 8), installMode: pdUsedDefault };
      const candidates = (await chooser.candidates(request)).filter((k) => k.length === KEY_LENGTH);
      if (this.#state === 'stopped') throw new OsdpError('stopped', 'the OSDP link was stopped');
      if (pdUsedDefault && !candidates.some((k) => sameBytes(k, SCBK_D))) {
        throw new OsdpError('install_mode', 'the hub is in install mode (it answered with the default key SCBK-D), and install mode was not accepted for it');
      }
      const found = candidates.find(matches);
      if (!found) {
        throw new OsdpError(
          'key_mismatch',
          candidates.length === 0
            ? 'we hold no secure-channel key for this hub, and it is not in install mode'
            : `the hub's secure-channel key is wrong: its client cryptogram matches none of the ${candidates.length} key(s) we hold for it`,
        );
      }
      scbk = found.slice();
    } else {
      if (keyFlag === SCB_PROVISIONED_KEY && pdUsedDefault) {
        throw new OsdpError('install_mode', 'the hub is still in install mode (it answered with the default key SCBK-D); provision it with setKey');
      }
      scbk = this.#scbk!;
      if (!matches(scbk)) {
        throw new OsdpError('key_mismatch', "the hub's secure-channel key is wrong: its client cryptogram does not match the key we hold for it");
      }
    }
    const keys = deriveSessionKeys(scbk, cpRandom);
    const ourCryptogram = serverCryptogram(keys, cpRandom, pdRandom);
    // The SCRYPT says which key the cryptogram is under: the one the PD used.
    const rmacI = await this.#handshakeStep(Command.SCRYPT, Scs.SCS_13, pdUsedDefault ? SCB_DEFAULT_KEY : SCB_PROVISIONED_KEY, ourCryptogram);
    if (rmacI.code === Reply.NAK) throw new OsdpError('secure_channel_refused', `the hub refused our cryptogram: ${nakReasonText(rmacI.data[0] ?? 0)}`, { nakReason: rmacI.data[0] });
    if (rmacI.code !== Reply.RMAC_I || rmacI.scbType !== Scs.SCS_14 || rmacI.data.length !== 16) throw unexpectedReply(Command.SCRYPT, rmacI);
    if (rmacI.scbData[0] !== 0x01) throw new OsdpError('key_mismatch', "the hub rejected our cryptogram: the hub's secure-channel key differs from ours");
    if (!sameBytes(initialRmac(keys, ourCryptogram), rmacI.data)) {
      throw new OsdpError('key_mismatch', "the hub's initial R-MAC does not match: the hub's secure-channel key differs from ours");
    }
    this.#session = new SecureSession(keys, 'cp', rmacI.data);
    if (chooser && request) chooser.accepted?.(scbk.slice(), request);
  }

  async #handshakeStep(code: number, scbType: number, keyFlag: number, data: Uint8Array): Promise<ReplyMessage & { scbType: number | null; scbData: Uint8Array }> {
    const sqn = nextSqn(this.#sqn);
    this.#sqn = sqn;
    const bytes = this.#packet(sqn, code, data, { type: scbType, data: Uint8Array.of(keyFlag) });
    const reply = await this.#exchange(bytes, sqn, (packet) => (packet.mac ? null : packet));
    const scb = reply.securityBlock;
    return { code: reply.code, data: reply.data, scbType: scb?.type ?? null, scbData: scb?.data ?? new Uint8Array(0) };
  }

  /** One command on a fresh SQN, sealed when a session is up. */
  async #transact(code: number, data: Uint8Array, encrypt: boolean): Promise<ReplyMessage> {
    const sqn = nextSqn(this.#sqn);
    this.#sqn = sqn;
    const session = this.#session;
    if (!session) return this.#exchange(this.#packet(sqn, code, data), sqn, plaintextReply);
    const bytes = session.seal(this.#fields(sqn, code, data), encrypt);
    return this.#exchange(bytes, sqn, (packet) => {
      if (!packet.securityBlock) {
        // A PD that lost the session (timeout, restart) can only say so in the clear.
        if (packet.code === Reply.NAK) return { code: packet.code, data: packet.data };
        this.stats.rejectedReplies++;
        return null;
      }
      const opened = session.open(packet);
      if (!opened.ok) {
        this.stats.rejectedReplies++;
        return null;
      }
      return { code: opened.value.code, data: opened.value.data };
    });
  }

  #fields(sqn: Sqn, code: number, data: Uint8Array): PacketFields {
    return { address: this.#address, reply: false, sqn, code, data, check: this.#check };
  }

  #packet(sqn: Sqn, code: number, data: Uint8Array, securityBlock: Packet['securityBlock'] = null): Uint8Array {
    return encodePacket({ ...this.#fields(sqn, code, data), securityBlock });
  }

  /** Sends `bytes` and resends the same bytes until `accept` takes a reply for `sqn`. */
  #exchange<T>(bytes: Uint8Array, sqn: Sqn, accept: Acceptor<T>): Promise<T> {
    // stop() may land between two exchanges of one job (connect, then handshake): nothing more goes out.
    if (this.#state === 'stopped') return Promise.reject(new OsdpError('stopped', 'the OSDP link was stopped'));
    return new Promise((resolve, reject) => {
      let sends = 0;
      let timer: Timer | null = null;
      let writeError: unknown;
      const finish = (): void => {
        timer?.cancel();
        timer = null;
        if (this.#waiter === waiter) this.#waiter = null;
      };
      const giveUp = (what: string): void => {
        finish();
        reject(new OsdpError('no_reply', `${what} after ${sends} sends; the hub may or may not have acted on it`, { cause: writeError }));
      };
      const transmit = (): void => {
        if (this.#waiter !== waiter) return;
        sends++;
        this.#link.write(bytes).catch((error: unknown) => {
          writeError = error;
        });
        timer = this.#clock.setTimeout(() => {
          if (sends > this.#maxRetries) return giveUp(`no reply from the hub within ${this.#replyTimeoutMs} ms`);
          this.stats.retransmits++;
          transmit();
        }, this.#replyTimeoutMs);
      };
      const waiter: Waiter = {
        deliver: (packet) => {
          if (packet.code === Reply.BUSY && packet.sqn === 0 && !packet.securityBlock) {
            this.stats.busy++;
            timer?.cancel();
            if (sends > this.#maxRetries) return giveUp('the hub stayed busy');
            timer = this.#clock.setTimeout(() => {
              this.stats.retransmits++;
              transmit();
            }, this.#busyRetryMs);
            return;
          }
          if (packet.sqn !== sqn) {
            this.stats.staleReplies++;
            return;
          }
          const reply = accept(packet);
          if (!reply) return;
          finish();
          resolve(reply);
        },
        abort: (error) => {
          finish();
          reject(error);
        },
      };
      this.#waiter = waiter;
      transmit();
    });
  }

  #onPacket(packet: Packet): void {
    // A PD answers in the check mode of the command; a packet in the other mode is line noise that
    // happened to pass the weaker check, or another conversation.
    if (!packet.reply || packet.address !== this.#address || packet.check !== this.#check) return;
    this.#waiter?.deliver(packet);
  }
}

function plaintextReply(packet: Packet): ReplyMessage | null {
  return packet.securityBlock ? null : { code: packet.code, data: packet.data };
}

function checkedKey(scbk: Uint8Array): Uint8Array {
  if (scbk.length !== KEY_LENGTH) throw new RangeError(`an SCBK is ${KEY_LENGTH} bytes, got ${scbk.length}`);
  return scbk.slice();
}

function unexpectedReply(code: number, reply: ReplyMessage): OsdpError {
  return new OsdpError('protocol', `the hub answered ${commandName(code)} with ${replyName(reply.code)} (${reply.data.length} data bytes)`);
}

function asOsdpError(error: unknown): OsdpError {
  return error instanceof OsdpError ? error : new OsdpError('protocol', `unexpected failure: ${String(error)}`, { cause: error });
}

/** Failures after which the link cannot go on as it is; a NAK, by contrast, answers only its command. */
function isLinkFailure(error: OsdpError): boolean {
  return error.code !== 'nak' && error.code !== 'too_large';
}
