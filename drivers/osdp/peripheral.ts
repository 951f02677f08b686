// The PD (peripheral device) end of an OSDP link: what an IQ hub, or the hub simulator, runs.
//
// Rules (libosdp src/osdp_pd.c, src/osdp_phy.c, tests/unit-tests/test-pd-phy.c; SIA OSDP v2.2 §5):
//  - The reply carries the command's SQN. SQN 0 restarts: sequence state, the cached reply and any
//    secure channel are dropped. After SQN s the PD accepts s again (a retransmission) or the next
//    one (1→2→3→1); anything else gets NAK "sequence number" and changes nothing.
//  - A retransmission (same SQN, bit-identical command) is answered with the cached reply bytes, sent
//    again as they are. Rebuilding the reply would run the handler twice (a second door opening, a
//    second event taken off the queue) and would break the secure channel's MAC chain.
//  - A command arriving while the handler still works on the previous one gets osdp_BUSY (SQN 0).
//  - Install mode (no SCBK yet): the PD accepts a handshake with SCBK-D; osdp_KEYSET inside a secure
//    channel installs the real key and ends install mode. Enforced secure mode (libosdp
//    OSDP_FLAG_ENFORCE_SECURE) needs a provisioned key and answers only ID, CAP and the handshake in
//    the clear.
//  - Packets that fail their CRC are dropped silently: on a corrupted packet not even the address can
//    be trusted, and the CP's retransmission covers the loss.
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from './clock.ts';
import { Command, NakReason, Reply, Scs } from './codes.ts';
import type { ByteLink } from './link.ts';
import { DEFAULT_INTER_CHARACTER_TIMEOUT_MS, PacketReceiver } from './packet-receiver.ts';
import { BROADCAST_ADDRESS, carriesMac, encodePacket, nextSqn, type Packet, type PacketFields, type SecurityBlock, type Sqn } from './packet.ts';
import {
  clientCryptogram,
  decodeKeySet,
  deriveSessionKeys,
  initialRmac,
  KEY_LENGTH,
  sameBytes,
  SCBK_D,
  SecureSession,
  serverCryptogram,
  type SessionKeys,
} from './secure-channel.ts';
import type { StreamParserStats } from './stream-parser.ts';

export interface CommandMessage {
  code: number;
  data: Uint8Array;
  /** Whether the command arrived MACed inside a secure channel. */
  secure: boolean;
}

export interface HandlerReply {
  code: number;
  data?: Uint8Array;
}

/** Answers one command. Called once per command, never for a retransmission. A throw becomes NAK "unable to process". */
export type CommandHandler = (command: CommandMessage) => HandlerReply | Promise<HandlerReply>;

export interface PeripheralOptions {
  link: ByteLink;
  /** 0x00–0x7E. The PD also answers broadcasts (0x7F). */
  address: number;
  handler: CommandHandler;
  /** The provisioned SCBK. Without one the PD is in install mode. */
  scbk?: Uint8Array;
  /** Refuse everything but ID, CAP and the handshake outside a secure channel; requires `scbk`. */
  enforceSecure?: boolean;
  /** cUID sent in osdp_CCRYPT (8 bytes; libosdp derives it from vendor, model and serial). */
  clientUid?: Uint8Array;
  /** Told of a new SCBK from osdp_KEYSET before the PD acknowledges it; a throw refuses the key. */
  onKeyChange?: (scbk: Uint8Array) => void | Promise<void>;
  /** A secure channel without a command for this long is dropped. Default 8 s (libosdp OSDP_PD_SC_TIMEOUT_MS). */
  secureSessionTimeoutMs?: number;
  clock?: Clock;
  /** Source of RND.B. */
  random?: (length: number) => Uint8Array;
  interCharacterTimeoutMs?: number;
}

export interface PeripheralStats {
  /** Commands answered by running them (handler or link layer). */
  commands: number;
  /** Retransmissions answered from the reply cache. */
  replays: number;
  busy: number;
  sequenceNaks: number;
  /** Commands refused for their security: bad MAC, no session, plaintext where a session or enforced mode requires one. */
  securityNaks: number;
}

interface Handshake {
  keys: SessionKeys;
  cpRandom: Uint8Array;
  pdRandom: Uint8Array;
}

interface Outcome {
  bytes: Uint8Array;
  /** Whether the command consumed its SQN; refusals of the link layer's own checks do not. */
  advance: boolean;
}

const EMPTY = new Uint8Array(0);

export class Peripheral {
  readonly stats: PeripheralStats = { commands: 0, replays: 0, busy: 0, sequenceNaks: 0, securityNaks: 0 };
  readonly #link: ByteLink;
  readonly #address: number;
  readonly #handler: CommandHandler;
  readonly #enforceSecure: boolean;
  readonly #clientUid: Uint8Array;
  readonly #onKeyChange: ((scbk: Uint8Array) => void | Promise<void>) | undefined;
  readonly #sessionTimeoutMs: number;
  readonly #clock: Clock;
  readonly #random: (length: number) => Uint8Array;
  readonly #receiver: PacketReceiver;

  #scbk: Uint8Array | null;
  /** SQN of the last command answered; null until a command with SQN 0 restarts the link. */
  #lastSqn: Sqn | null = null;
  #cache: { command: Uint8Array; reply: Uint8Array } | null = null;
  #busy = false;
  #handshake: Handshake | null = null;
  #session: SecureSession | null = null;
  #sessionUsedAt = 0;

  constructor(options: PeripheralOptions) {
    if (!Number.isInteger(options.address) || options.address < 0 || options.address >= BROADCAST_ADDRESS) {
      throw new RangeError(`PD address must be 0x00–0x7E, got ${options.address}`);
    }
    if (options.scbk && options.scbk.length !== KEY_LENGTH) throw new RangeError(`an SCBK is ${KEY_LENGTH} bytes, got ${options.scbk.length}`);
    if (options.enforceSecure && !options.scbk) {
      throw new RangeError('enforced secure mode needs a provisioned SCBK: without one the PD would be in install mode and accept the default key');
    }
    const clientUid = options.clientUid ?? new Uint8Array(8);
    if (clientUid.length !== 8) throw new RangeError(`a cUID is 8 bytes, got ${clientUid.length}`);
    this.#link = options.link;
    this.#address = options.address;
    this.#handler = options.handler;
    this.#scbk = options.scbk?.slice() ?? null;
    this.#enforceSecure = options.enforceSecure ?? false;
    this.#clientUid = clientUid.slice();
    this.#onKeyChange = options.onKeyChange;
    this.#sessionTimeoutMs = options.secureSessionTimeoutMs ?? 8000;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.#receiver = new PacketReceiver(this.#link, this.#clock, options.interCharacterTimeoutMs ?? DEFAULT_INTER_CHARACTER_TIMEOUT_MS, (p) =>
      this.#onPacket(p),
    );
  }

  /** No SCBK provisioned yet: the PD accepts SCBK-D. */
  get installMode(): boolean {
    return this.#scbk === null;
  }

  get secureChannelActive(): boolean {
    return this.#session !== null;
  }

  get receiverStats(): Readonly<StreamParserStats> {
    return this.#receiver.stats;
  }

  start(): void {
    this.#receiver.start();
  }

  stop(): void {
    this.#receiver.stop();
  }

  #onPacket(packet: Packet): void {
    if (packet.reply || (packet.address !== this.#address && packet.address !== BROADCAST_ADDRESS)) return;
    if (this.#busy) {
      this.stats.busy++;
      this.#write(this.#encode(packet, { sqn: 0, code: Reply.BUSY }));
      return;
    }
    const sqn = packet.sqn;
    if (sqn === 0) {
      this.#lastSqn = null;
      this.#cache = null;
      this.#endSession();
    } else if (this.#lastSqn !== null && sqn === this.#lastSqn) {
      if (this.#cache && sameRaw(this.#cache.command, packet.raw)) {
        this.stats.replays++;
        this.#write(this.#cache.reply);
        return;
      }
      this.#refuseSequence(packet);
      return;
    } else if (this.#lastSqn === null || sqn !== nextSqn(this.#lastSqn)) {
      this.#refuseSequence(packet);
      return;
    }
    this.#busy = true;
    void this.#run(packet)
      // A reply that cannot be built (a handler's answer too large for a packet) must not leave the PD busy for good.
      .catch((): Outcome => ({ bytes: this.#nak(packet, NakReason.RECORD), advance: true }))
      .then((outcome) => {
        this.#busy = false;
        if (outcome.advance) {
          this.stats.commands++;
          this.#lastSqn = sqn;
          this.#cache = { command: packet.raw, reply: outcome.bytes };
        }
        this.#write(outcome.bytes);
      });
  }

  #refuseSequence(packet: Packet): void {
    this.stats.sequenceNaks++;
    this.#write(this.#nak(packet, NakReason.SEQ_NUM));
  }

  async #run(packet: Packet): Promise<Outcome> {
    if (this.#session && this.#clock.now() - this.#sessionUsedAt > this.#sessionTimeoutMs) this.#endSession();
    const scb = packet.securityBlock;
    if (scb && carriesMac(scb.type)) {
      const session = this.#session;
      if (!session) return this.#refuseSecurity(packet);
      const opened = session.open(packet);
      if (!opened.ok) {
        this.#endSession();
        return this.#refuseSecurity(packet);
      }
      this.#sessionUsedAt = this.#clock.now();
      const { code, data, encrypted } = opened.value;
      if (code === Command.KEYSET) return this.#keySet(packet, session, data);
      const reply = await this.#answer({ code, data, secure: true });
      return { bytes: session.seal(this.#replyFields(packet, packet.sqn, reply.code, reply.data ?? EMPTY), encrypted), advance: true };
    }
    if (scb) {
      if (packet.code === Command.CHLNG && scb.type === Scs.SCS_11) return this.#challenge(packet, scb);
      if (packet.code === Command.SCRYPT && scb.type === Scs.SCS_13) return this.#serverCryptogram(packet);
      return this.#refuseSecurity(packet);
    }
    const openInClear = packet.code === Command.ID || packet.code === Command.CAP;
    const secureOnly = packet.code === Command.CHLNG || packet.code === Command.SCRYPT || packet.code === Command.KEYSET;
    if (this.#session || secureOnly || (this.#enforceSecure && !openInClear)) return this.#refuseSecurity(packet);
    const reply = await this.#answer({ code: packet.code, data: packet.data, secure: false });
    return { bytes: this.#encode(packet, reply), advance: true };
  }

  async #answer(command: CommandMessage): Promise<HandlerReply> {
    try {
      return await this.#handler(command);
    } catch {
      return { code: Reply.NAK, data: Uint8Array.of(NakReason.RECORD) };
    }
  }

  #refuseSecurity(packet: Packet): Outcome {
    this.stats.securityNaks++;
    return { bytes: this.#nak(packet, NakReason.SC_COND), advance: false };
  }

  #challenge(packet: Packet, scb: SecurityBlock): Outcome {
    if (packet.data.length !== 8) return { bytes: this.#nak(packet, NakReason.CMD_LEN), advance: true };
    const wantsDefaultKey = scb.data[0] === 0x00;
    if (wantsDefaultKey && !this.installMode) return this.#refuseSecurity(packet);
    this.#endSession();
    const useDefaultKey = wantsDefaultKey || this.#scbk === null;
    const cpRandom = packet.data.slice();
    const pdRandom = this.#random(8);
    const keys = deriveSessionKeys(useDefaultKey ? SCBK_D : this.#scbk!, cpRandom);
    this.#handshake = { keys, cpRandom, pdRandom };
    const data = new Uint8Array(32);
    data.set(this.#clientUid);
    data.set(pdRandom, 8);
    data.set(clientCryptogram(keys, cpRandom, pdRandom), 16);
    const securityBlock = { type: Scs.SCS_12, data: Uint8Array.of(useDefaultKey ? 0x00 : 0x01) };
    return { bytes: this.#encode(packet, { code: Reply.CCRYPT, data }, securityBlock), advance: true };
  }

  #serverCryptogram(packet: Packet): Outcome {
    const handshake = this.#handshake;
    if (!handshake) return this.#refuseSecurity(packet);
    if (packet.data.length !== 16) return { bytes: this.#nak(packet, NakReason.CMD_LEN), advance: true };
    this.#handshake = null;
    const accepted = sameBytes(serverCryptogram(handshake.keys, handshake.cpRandom, handshake.pdRandom), packet.data);
    const rmacI = initialRmac(handshake.keys, packet.data);
    if (accepted) {
      this.#session = new SecureSession(handshake.keys, 'pd', rmacI);
      this.#sessionUsedAt = this.#clock.now();
    }
    const securityBlock = { type: Scs.SCS_14, data: Uint8Array.of(accepted ? 0x01 : 0xff) };
    return { bytes: this.#encode(packet, { code: Reply.RMAC_I, data: rmacI }, securityBlock), advance: true };
  }

  /** The ACK still travels under the old session; the new key counts from the next handshake on. */
  async #keySet(packet: Packet, session: SecureSession, data: Uint8Array): Promise<Outcome> {
    const seal = (reply: HandlerReply): Outcome => ({
      bytes: session.seal(this.#replyFields(packet, packet.sqn, reply.code, reply.data ?? EMPTY), true),
      advance: true,
    });
    const scbk = decodeKeySet(data);
    if (!scbk) return seal({ code: Reply.NAK, data: Uint8Array.of(NakReason.CMD_LEN) });
    try {
      await this.#onKeyChange?.(scbk);
    } catch {
      return seal({ code: Reply.NAK, data: Uint8Array.of(NakReason.RECORD) });
    }
    const ack = seal({ code: Reply.ACK });
    this.#scbk = scbk;
    this.#endSession();
    return ack;
  }

  #endSession(): void {
    this.#session = null;
    this.#handshake = null;
  }

  #replyFields(packet: Packet, sqn: Sqn, code: number, data: Uint8Array): PacketFields {
    return { address: packet.address, reply: true, sqn, code, data, check: packet.check, mark: packet.mark };
  }

  #encode(packet: Packet, reply: HandlerReply & { sqn?: Sqn }, securityBlock: SecurityBlock | null = null): Uint8Array {
    return encodePacket({ ...this.#replyFields(packet, reply.sqn ?? packet.sqn, reply.code, reply.data ?? EMPTY), securityBlock });
  }

  #nak(packet: Packet, reason: number): Uint8Array {
    return this.#encode(packet, { code: Reply.NAK, data: Uint8Array.of(reason) });
  }

  #write(bytes: Uint8Array): void {
    // A reply that does not get through is a lost reply: the CP resends its command and gets the cached copy.
    this.#link.write(bytes).catch(() => undefined);
  }
}

function sameRaw(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
