// A simulated IQ hub: flash, active access table, virtual locks and event ring behind one control API
// that tests, demos and (in a later step) the OSDP/MFG command handlers call. Methods are synchronous
// and return plain results; they throw only HubError (a misuse: unknown lock, hub without power) and,
// when a fault-injected power cut hits the flash, PowerLossError, after which the hub is off until
// reboot(). Time is injectable: every action takes an optional instant, defaulting to the clock.
import { decodeDiff, decodeTable, applyDiff as applyTableDiff, serializeTable, USER_FLAG, type HubTable, type TableError } from './table.ts';
import { toHex } from './bytes.ts';
import { type CardCheck, Evaluator, formatTagNumber, normalizeCredential, refusal, type Decision, type Denial, type DoorState, type Presented } from './evaluator.ts';
import { HubFlash, MemoryFlash, PowerLossError, type FlashMedium, type FlashReport, type PairedLock, type PairedLocks, type StoredSiteKey } from './flash.ts';
import type { AckOutcome, EventBody, HubEvent } from './events.ts';
import { VirtualLock, type BatteryLevel, type LockContext, type LockStatus } from './locks.ts';

export interface HubOptions {
  /** Where the hub's flash lives; a fresh in-memory one by default. */
  flash?: FlashMedium;
  clock?: () => number;
  /**
   * The board's monotonic timer, ms, for what the hub counts down in RAM (tag registration mode). Unlike
   * `clock` it does not jump when the time is set. Default: the clock.
   */
  timer?: () => number;
  /** The hub's own IQ id: when set, a table compiled for another IQ is refused. */
  iqId?: string;
  ringCapacity?: number;
  pulseMs?: number;
  leftOpenMs?: number;
  /** Pair every lock of a newly activated table that is not paired yet (default true). */
  autoPair?: boolean;
  /**
   * The site key and id: cards presented by UID must then carry a genuine credential sector
   * (docs/credentials.md). A site key installed with setSiteKey (the wire's SET_SITE_KEY) takes its place.
   */
  cardCheck?: CardCheck;
}

export type HubErrorCode = 'unknown_lock' | 'powered_off';

export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export type TableOutcome =
  | { ok: true; hash: string; version: number; changed: boolean; records: number }
  | { ok: false; error: TableError | { code: 'wrong_iq'; message: string } };

export interface TableInfo {
  hash: string;
  version: number;
  iqId: string;
  zone: string;
  validFrom: number;
  validUntil: number;
  records: number;
  lockIds: string[];
}

/** A lock's stable index (1-based, in pairing order, never reused within the ring's epoch) or its id. */
export type LockRef = number | string;

export interface ActionResult {
  /** Events filed in the ring by this action, with their ids. */
  events: HubEvent[];
  /** Events the lock keeps for later because its radio is down. */
  held: EventBody[];
}

/** A card as the reader got it in tag registration mode: what the `tag_presented` event carries. */
export interface RegisteredTag {
  /** Upper-case hex, 4, 7 or 10 bytes. */
  card_uid: string;
  /** 10 digits, when the credential carried a readable tag number; else null. */
  tag_number: string | null;
}

/**
 * What presenting a credential did. `outcome` says which: `decided`, an access decision as always; or
 * `registration`, the lock was in tag registration mode, so nothing was decided — `decision` is then a
 * refusal with reason `tag_registration` (the door stayed as it was), no entry was filed, and
 * `registered` is the card reported in a `tag_presented` event (null when the credential could not be
 * read: no UID of 4, 7 or 10 bytes and no tag number; nothing is filed then).
 */
export type PresentResult = ActionResult &
  (
    | { outcome: 'decided'; decision: Decision; registered: null }
    | { outcome: 'registration'; decision: Denial & { reason: 'tag_registration' }; registered: RegisteredTag | null }
  );

/** UID lengths a reader reports and the wire carries (ISO 14443 single, double, triple size). */
const CARD_UID_LENGTHS = new Set([4, 7, 10]);

/**
 * The UID the simulator gives a card presented by tag number alone when the active table knows no UID
 * for it: 7 bytes, `47 48` ("GH") then the number as 5 bytes big-endian (`0000001001` → `47 48 00 00 00 03 E9`).
 * Stable, so the same card always reads the same.
 */
export function simulatedCardUid(tagNumber: string): Uint8Array {
  const out = new Uint8Array(7);
  out[0] = 0x47;
  out[1] = 0x48;
  let n = Number(tagNumber);
  for (let i = 6; i >= 2; i--) {
    out[i] = n % 256;
    n = Math.floor(n / 256);
  }
  return out;
}

export type RemoteOpenResult =
  | ({ ok: true } & ActionResult)
  | { ok: false; error: 'lock_offline' | 'no_table' | 'lock_not_in_table' | 'not_permitted'; message: string };

interface Active {
  table: HubTable;
  evaluator: Evaluator;
  version: number;
}

const LINK_INCIDENTS = new Set(['lock_offline', 'lock_online']);

export class SimulatedHub {
  readonly medium: FlashMedium;
  private readonly clock: () => number;
  private readonly timer: () => number;
  private readonly opts: Required<Omit<HubOptions, 'flash' | 'clock' | 'timer' | 'iqId' | 'cardCheck'>> & { iqId: string | null };
  private readonly fixedCardCheck: CardCheck | null;
  private flash!: HubFlash;
  private storedSiteKey: StoredSiteKey | null = null;
  private active: Active | null = null;
  private keys = new Map<string, Uint8Array>();
  private paired: PairedLock[] = [];
  private nextLockIndex = 1;
  /** The lock devices: not hub memory, so a hub reboot leaves them as they are. */
  private readonly devices = new Map<string, VirtualLock>();
  /** Tag registration mode: lock id → until when, on the timer. RAM only, like a real hub's countdown. */
  private registration = new Map<string, number>();
  private lastTick: number;
  private powered = false;
  private report: FlashReport = { faults: [], tornLogBytes: 0, completedReset: false };
  private readonly ctx: LockContext;

  constructor(options: HubOptions = {}) {
    this.fixedCardCheck = options.cardCheck ?? null;
    this.medium = options.flash ?? new MemoryFlash();
    this.clock = options.clock ?? Date.now;
    this.timer = options.timer ?? this.clock;
    this.opts = {
      iqId: options.iqId ?? null,
      ringCapacity: options.ringCapacity ?? 4096,
      pulseMs: options.pulseMs ?? 5_000,
      leftOpenMs: options.leftOpenMs ?? 30_000,
      autoPair: options.autoPair ?? true,
    };
    this.lastTick = this.clock();
    this.ctx = {
      timings: { pulseMs: this.opts.pulseMs, leftOpenMs: this.opts.leftOpenMs },
      decide: (lock, presented, at) => this.decideAt(lock.id, presented, at, { privacy: lock.privacy, offline: !lock.radio }),
      eomWindows: (lock, after, upTo) => {
        const entry = this.active?.table.locksById.get(lock.id);
        return entry ? this.active!.evaluator.eomWindows(entry, after, upTo) : [];
      },
      eomAutoStart: (lock) => this.active?.table.locksById.get(lock.id)?.eom?.autoStart ?? false,
    };
    this.boot();
  }

  // ── Power ───────────────────────────────────────────────────────────────────────────────────────

  /** Everything the hub knows is read back from flash; what it only held in memory is gone. */
  reboot(): FlashReport {
    this.boot();
    return this.report;
  }

  get isPowered(): boolean {
    return this.powered;
  }

  /** Everything at a glance, for demos and a status command. */
  status(at?: number) {
    return {
      powered: this.powered,
      iqId: this.opts.iqId,
      table: this.tableInfo(),
      events: this.powered ? this.flash.eventStatus() : null,
      locks: this.powered ? this.locks(at) : [],
      keys: [...this.keys.keys()].sort(),
      boot: this.report,
    };
  }

  /** What the last boot found on the flash (unreadable slots, a torn event log, a completed reset). */
  get bootReport(): FlashReport {
    return this.report;
  }

  private boot(): void {
    this.powered = false;
    this.active = null;
    this.registration.clear();
    this.flash = new HubFlash(this.medium, this.opts.ringCapacity);
    this.medium.sweepTemporaries();
    const loaded = this.flash.load();
    this.report = loaded.report;
    this.keys = loaded.keys;
    this.storedSiteKey = loaded.siteKey;
    this.paired = loaded.locks.locks;
    this.nextLockIndex = loaded.locks.nextIndex;
    if (loaded.table) {
      const decoded = decodeTable(loaded.table.bytes);
      if (decoded.ok) this.active = { table: decoded.table, evaluator: new Evaluator(decoded.table, this.cardCheck()), version: loaded.table.version };
      else this.report.faults.push(`table.bin: stored table does not verify (${decoded.error.code}: ${decoded.error.message}); the hub starts without a table`);
    }
    for (const id of [...this.devices.keys()]) if (!this.paired.some((p) => p.lock_id === id)) this.devices.delete(id);
    for (const p of this.paired) if (!this.devices.has(p.lock_id)) this.devices.set(p.lock_id, new VirtualLock(p.lock_id));
    this.powered = true;
    this.guard(() => this.syncOfficeModes(Math.max(this.clock(), this.lastTick)));
  }

  /** Erases table, keys, the site key, paired locks (and so the locks' devices) and events; starts a new ring epoch. */
  factoryReset(): void {
    this.guard(() => {
      this.flash.factoryReset();
      this.active = null;
      this.keys.clear();
      this.storedSiteKey = null;
      this.paired = [];
      this.nextLockIndex = 1;
      this.devices.clear();
      this.registration.clear();
    });
  }

  private guard<T>(run: () => T): T {
    if (!this.powered) throw new HubError('powered_off', 'the hub lost power; reboot() it');
    try {
      return run();
    } catch (e) {
      if (e instanceof PowerLossError) this.powered = false;
      throw e;
    }
  }

  // ── Tables ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * Verifies a whole table and activates it. Nothing changes unless the table verifies and is on flash:
   * the old table stays active on any error, and after a power cut during the save the old table is
   * what the next boot finds.
   */
  installTable(bytes: Uint8Array, opts: { version?: number; at?: number } = {}): TableOutcome {
    return this.guard(() => {
      const decoded = decodeTable(bytes);
      if (!decoded.ok) return { ok: false, error: decoded.error };
      return this.activate(decoded.table, bytes, opts);
    });
  }

  /**
   * Applies a diff to the active table. Refused — with the active table untouched — unless the active
   * table has the diff's from-hash and the result has its to-hash. A diff whose target is already
   * active (a retransmission after a lost reply) is accepted without change.
   */
  applyDiff(bytes: Uint8Array, opts: { version?: number; at?: number } = {}): TableOutcome {
    return this.guard(() => {
      const parsed = decodeDiff(bytes);
      if (!parsed.ok) return { ok: false, error: parsed.error };
      if (this.active && this.active.table.hash === parsed.diff.toHash && this.active.table.hash !== parsed.diff.fromHash)
        return { ok: true, hash: this.active.table.hash, version: this.active.version, changed: false, records: this.active.table.records.size };
      const next = applyTableDiff(this.active?.table ?? null, parsed.diff);
      if (!next.ok) return { ok: false, error: next.error };
      return this.activate(next.table, serializeTable(next.table), opts);
    });
  }

  private activate(table: HubTable, bytes: Uint8Array, opts: { version?: number; at?: number }): TableOutcome {
    if (this.opts.iqId !== null && table.header.iqId !== this.opts.iqId)
      return { ok: false, error: { code: 'wrong_iq', message: `table is for IQ ${table.header.iqId}, this hub is ${this.opts.iqId}` } };
    const current = this.active;
    if (current && current.table.hash === table.hash)
      return { ok: true, hash: table.hash, version: current.version, changed: false, records: table.records.size };
    const version = opts.version ?? (current ? current.version + 1 : 1);
    const at = this.at(opts.at);
    // What fell due under the old table happened under it.
    this.advance(at);
    this.flash.saveTable({ version, bytes });
    this.active = { table, evaluator: new Evaluator(table, this.cardCheck()), version };
    if (this.opts.autoPair) {
      const missing = [...table.locks.values()].sort((a, b) => a.pk - b.pk).filter((l) => !this.paired.some((p) => p.lock_id === l.id));
      if (missing.length) this.pair(missing.map((l) => l.id), at);
    }
    this.syncOfficeModes(at);
    return { ok: true, hash: table.hash, version, changed: true, records: table.records.size };
  }

  tableInfo(): TableInfo | null {
    const a = this.active;
    if (!a) return null;
    const h = a.table.header;
    return {
      hash: a.table.hash,
      version: a.version,
      iqId: h.iqId,
      zone: h.zone,
      validFrom: h.validFrom,
      validUntil: h.validUntil,
      records: a.table.records.size,
      lockIds: [...a.table.locks.values()].sort((x, y) => x.pk - y.pk).map((l) => l.id),
    };
  }

  /** The active table as bytes (what a "read table back" command would return). */
  tableBytes(): Uint8Array | null {
    return this.active ? serializeTable(this.active.table) : null;
  }

  // ── Events ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * Stored events with ids above `afterId`, in id order, a loss marker first when events were
   * overwritten. With `epoch` (the ring the caller knows): from the oldest event when it is not this one.
   */
  eventsSince(afterId: number, opts: { limit?: number; epoch?: number } = {}): HubEvent[] {
    return this.guard(() => this.flash.eventsSince(afterId, opts));
  }

  /** Cumulative acknowledgement: frees every event with id ≤ upTo; with `epoch`, only if it is this ring's. */
  ack(upTo: number, opts: { epoch?: number } = {}): AckOutcome {
    return this.guard(() => this.flash.ack(upTo, opts.epoch));
  }

  eventStatus() {
    return this.guard(() => this.flash.eventStatus());
  }

  private file(lock: VirtualLock | null, bodies: readonly EventBody[]): ActionResult {
    const events: HubEvent[] = [];
    const held: EventBody[] = [];
    for (const b of bodies) {
      // A lock without radio keeps its events; only the hub's own view of the link goes straight in.
      if (lock && !lock.radio && !(b.kind === 'incident' && LINK_INCIDENTS.has(b.incident_type))) {
        lock.outbox.push(b);
        held.push(b);
      } else events.push(this.flash.appendEvent(b));
    }
    return { events, held };
  }

  // ── Keys ────────────────────────────────────────────────────────────────────────────────────────

  setKey(name: string, bytes: Uint8Array): void {
    this.guard(() => {
      const next = new Map(this.keys).set(name, bytes.slice());
      this.flash.saveKeys(next);
      this.keys = next;
    });
  }

  getKey(name: string): Uint8Array | null {
    return this.guard(() => this.keys.get(name)?.slice() ?? null);
  }

  deleteKey(name: string): boolean {
    return this.guard(() => {
      if (!this.keys.has(name)) return false;
      const next = new Map(this.keys);
      next.delete(name);
      this.flash.saveKeys(next);
      this.keys = next;
      return true;
    });
  }

  keyNames(): string[] {
    return this.guard(() => [...this.keys.keys()].sort());
  }

  // ── The site key ────────────────────────────────────────────────────────────────────────────────

  /**
   * The site's card key (the wire's SET_SITE_KEY): on flash before it takes effect, replacing any earlier
   * one; from then on every card presented by UID must carry a genuine credential under it.
   */
  setSiteKey(k: StoredSiteKey): void {
    this.guard(() => {
      const next = { generation: k.generation, siteId: k.siteId, key: k.key.slice() };
      this.flash.saveSiteKey(next);
      this.storedSiteKey = next;
      if (this.active) this.active = { ...this.active, evaluator: new Evaluator(this.active.table, this.cardCheck()) };
    });
  }

  /** The site key on flash, or null (never had one, or factory reset since). */
  siteKey(): StoredSiteKey | null {
    return this.guard(() => this.storedSiteKey && { ...this.storedSiteKey, key: this.storedSiteKey.key.slice() });
  }

  private cardCheck(): CardCheck | null {
    return this.storedSiteKey ? { siteKey: this.storedSiteKey.key, siteId: this.storedSiteKey.siteId } : this.fixedCardCheck;
  }

  // ── Paired locks ────────────────────────────────────────────────────────────────────────────────

  /** Pairs a lock (idempotent); returns its index. */
  pairLock(lockId: string, opts: { at?: number } = {}): number {
    return this.guard(() => {
      const known = this.paired.find((p) => p.lock_id === lockId);
      if (known) return known.index;
      this.pair([lockId], this.at(opts.at));
      return this.nextLockIndex - 1;
    });
  }

  unpairLock(lockId: string): boolean {
    return this.guard(() => {
      if (!this.paired.some((p) => p.lock_id === lockId)) return false;
      this.savePaired({ locks: this.paired.filter((p) => p.lock_id !== lockId), nextIndex: this.nextLockIndex });
      return true;
    });
  }

  private pair(lockIds: string[], at: number): void {
    const added = lockIds.map((lock_id, i) => ({ index: this.nextLockIndex + i, lock_id, paired_at: at }));
    this.savePaired({ locks: [...this.paired, ...added], nextIndex: this.nextLockIndex + added.length });
  }

  private savePaired(next: PairedLocks): void {
    this.flash.saveLocks(next);
    this.paired = next.locks;
    this.nextLockIndex = next.nextIndex;
    for (const p of next.locks) if (!this.devices.has(p.lock_id)) this.devices.set(p.lock_id, new VirtualLock(p.lock_id));
    for (const id of [...this.devices.keys()]) if (!next.locks.some((p) => p.lock_id === id)) this.devices.delete(id);
    for (const id of [...this.registration.keys()]) if (!next.locks.some((p) => p.lock_id === id)) this.registration.delete(id);
  }

  /** Paired lock ids, in pairing order. */
  lockIds(): string[] {
    return this.paired.map((p) => p.lock_id);
  }

  lockIndex(lockId: string): number {
    const p = this.paired.find((x) => x.lock_id === lockId);
    if (!p) throw new HubError('unknown_lock', `lock ${lockId} is not paired with this hub`);
    return p.index;
  }

  lockStatus(ref: LockRef, at?: number): LockStatus & { index: number; in_table: boolean; tag_registration_s: number } {
    const lock = this.device(ref);
    return {
      ...lock.status(this.at(at)),
      index: this.lockIndex(lock.id),
      in_table: this.active?.table.locksById.has(lock.id) ?? false,
      tag_registration_s: this.registrationLeft(lock.id),
    };
  }

  locks(at?: number): Array<LockStatus & { index: number; in_table: boolean; tag_registration_s: number }> {
    return this.paired.map((p) => this.lockStatus(p.index, at));
  }

  private device(ref: LockRef): VirtualLock {
    if (!this.powered) throw new HubError('powered_off', 'the hub lost power; reboot() it');
    const id = typeof ref === 'number' ? this.paired.find((p) => p.index === ref)?.lock_id : ref;
    const lock = id === undefined ? undefined : this.devices.get(id);
    if (!lock) throw new HubError('unknown_lock', `no paired lock ${typeof ref === 'number' ? `at index ${ref}` : ref}`);
    return lock;
  }

  // ── Tag registration ────────────────────────────────────────────────────────────────────────────

  /**
   * Tag registration mode (the wire's TAG_REGISTRATION): for `seconds` from now on the hub's timer, every
   * credential presented at the lock is reported as a `tag_presented` event instead of being decided.
   * Presenting does not end it; 0 (or less) ends it at once, and a repeat restarts the countdown. RAM
   * only: a reboot or factory reset ends it. Returns the whole seconds left (0 = off).
   */
  setTagRegistration(ref: LockRef, seconds: number): number {
    const lock = this.device(ref);
    if (seconds > 0) this.registration.set(lock.id, this.timer() + seconds * 1000);
    else this.registration.delete(lock.id);
    return this.registrationLeft(lock.id);
  }

  /** Whole seconds of tag registration mode left at the lock; 0 when it is off. */
  tagRegistrationLeft(ref: LockRef): number {
    return this.registrationLeft(this.device(ref).id);
  }

  private registrationLeft(lockId: string): number {
    const until = this.registration.get(lockId);
    if (until === undefined) return 0;
    const left = until - this.timer();
    if (left > 0) return Math.ceil(left / 1000);
    this.registration.delete(lockId);
    return 0;
  }

  /** What the reader gets from a credential in registration mode, or null when it reads nothing reportable. */
  private readCard(presented: Presented): RegisteredTag | null {
    const cred = normalizeCredential(presented);
    const tag_number = cred.tagNumber !== undefined && /^\d{1,10}$/.test(cred.tagNumber) ? formatTagNumber(Number(cred.tagNumber)) : null;
    if (cred.uid) return CARD_UID_LENGTHS.has(cred.uid.length) ? { card_uid: toHex(cred.uid).toUpperCase(), tag_number } : null;
    if (tag_number === null) return null;
    // A card known to the table reads with its recorded UID; any other with a stable simulated one.
    const known = this.active?.table.tags.get(Number(tag_number))?.uid;
    return { card_uid: toHex(known && CARD_UID_LENGTHS.has(known.length) ? known : simulatedCardUid(tag_number)).toUpperCase(), tag_number };
  }

  // ── Decisions and the doors ─────────────────────────────────────────────────────────────────────

  private at(at: number | undefined): number {
    return at ?? this.clock();
  }

  private decideAt(lockId: string, presented: Presented, at: number, door: DoorState): Decision {
    return this.active ? this.active.evaluator.decide(lockId, presented, at, door) : refusal('no_table', presented);
  }

  /**
   * The decision the lock would take now, without presenting anything: no event, no state change. By
   * default the door's own privacy mode and radio link apply; `privacy` / `offline` override them.
   */
  decide(ref: LockRef, presented: Presented, opts: { at?: number; privacy?: boolean; offline?: boolean } = {}): Decision {
    const lock = this.device(ref);
    return this.decideAt(lock.id, presented, this.at(opts.at), { privacy: opts.privacy ?? lock.privacy, offline: opts.offline ?? !lock.radio });
  }

  /** The lock's Easy Office Mode window containing `at` (from the table's L record), or null. */
  eomWindowAt(ref: LockRef, at?: number): [number, number] | null {
    const lock = this.device(ref);
    const t = this.at(at);
    const entry = this.active?.table.locksById.get(lock.id);
    return entry ? this.active!.evaluator.eomWindowAt(entry, t) : null;
  }

  /**
   * A tag (number, UID or both) at a lock's reader: decision, entry, and the opening or office-mode
   * toggle. In tag registration mode (setTagRegistration) nothing is decided: the card is filed as a
   * `tag_presented` event, the door stays as it is, and `outcome` is `registration`.
   */
  presentTag(ref: LockRef, presented: Presented, opts: { at?: number; hold?: boolean } = {}): PresentResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at): PresentResult => {
      if (this.registrationLeft(lock.id) > 0) {
        const card = this.readCard(presented);
        const decision: Denial & { reason: 'tag_registration' } = {
          granted: false,
          reason: 'tag_registration',
          cause: null,
          tagNumber: card?.tag_number ?? null,
          cardUid: card?.card_uid ?? null,
          userPk: null,
          userFlags: 0,
        };
        return { outcome: 'registration', decision, registered: card, ...this.file(lock, card ? lock.registerTag(at, card) : []) };
      }
      const { decision, events } = lock.present(this.ctx, presented, at, opts.hold ?? false);
      return { outcome: 'decided', decision, registered: null, ...this.file(lock, events) };
    });
  }

  openDoor(ref: LockRef, opts: { at?: number } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at) => this.file(lock, lock.openDoor(at)));
  }

  closeDoor(ref: LockRef, opts: { at?: number } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, () => this.file(lock, lock.closeDoor()));
  }

  /** Opens the door (if closed) and lets `forMs` pass (default: the left-open limit) with it open. */
  leaveOpen(ref: LockRef, opts: { at?: number; forMs?: number } = {}): ActionResult {
    const lock = this.device(ref);
    const at = this.at(opts.at);
    const opened = this.act(at, () => this.file(lock, lock.openDoor(at)));
    const later = this.tick(at + (opts.forMs ?? this.opts.leftOpenMs));
    return { events: [...opened.events, ...later.events], held: [...opened.held, ...later.held] };
  }

  forceDoor(ref: LockRef, opts: { at?: number } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at) => this.file(lock, lock.forceDoor(at)));
  }

  tamper(ref: LockRef, opts: { at?: number } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at) => this.file(lock, lock.tamperAlarm(at)));
  }

  clearTamper(ref: LockRef): void {
    this.device(ref).clearTamper();
  }

  lowBattery(ref: LockRef, opts: { at?: number; level?: Exclude<BatteryLevel, 'fresh'> } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at) => this.file(lock, lock.setBattery(opts.level ?? 'low', at)));
  }

  replaceBattery(ref: LockRef, opts: { at?: number } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at) => this.file(lock, lock.setBattery('fresh', at)));
  }

  loseRadio(ref: LockRef, opts: { at?: number } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at) => this.file(lock, lock.loseRadio(at)));
  }

  /** The link is back: `lock_online`, then the events the lock held, with their own times. */
  restoreRadio(ref: LockRef, opts: { at?: number } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at) => {
      const { online, held } = lock.restoreRadio(at);
      return this.file(lock, [...online, ...held]);
    });
  }

  setPrivacy(ref: LockRef, on: boolean, opts: { at?: number } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at) => this.file(lock, lock.setPrivacy(on, at)));
  }

  /**
   * Remote opening (CLP PATCH …/locking unlocked). The core checks the operator's rights; when it names
   * a person instead (`userPk`), the hub checks the table: remote-access flag, not blocked or
   * suspended, within validity, and an access group with this lock.
   */
  remoteOpen(ref: LockRef, opts: { at?: number; actor?: string; userPk?: number; throughPrivacy?: boolean } = {}): RemoteOpenResult {
    const lock = this.device(ref);
    return this.guard((): RemoteOpenResult => {
      const at = this.at(opts.at);
      const due = this.advance(at);
      if (!lock.radio) return { ok: false, error: 'lock_offline', message: `lock ${lock.id} cannot be reached` };
      if (opts.userPk !== undefined) {
        if (!this.active) return { ok: false, error: 'no_table', message: 'the hub holds no table to check the person against' };
        const entry = this.active.table.locksById.get(lock.id);
        if (!entry) return { ok: false, error: 'lock_not_in_table', message: `lock ${lock.id} is not in the active table` };
        const u = this.active.table.users.get(opts.userPk);
        const routed = u?.groupPks.some((g) => this.active!.table.groups.get(g)?.lockPks.has(entry.pk)) ?? false;
        const valid = u && (u.validFrom === null || at >= u.validFrom) && (u.validUntil === null || at < u.validUntil);
        if (!u || !(u.flags & USER_FLAG.remoteAccess) || u.flags & (USER_FLAG.blocked | USER_FLAG.suspended) || !valid || !routed)
          return { ok: false, error: 'not_permitted', message: `user ${opts.userPk} may not open ${lock.id} remotely now` };
      }
      const opened = this.file(lock, lock.remoteOpen(at, this.opts.pulseMs, opts.actor ?? null, opts.throughPrivacy ?? false));
      return { ok: true, events: [...due.events, ...opened.events], held: [...due.held, ...opened.held] };
    });
  }

  /** Manual Office Mode on or off by an operator's command (the wire's MANUAL_OFFICE_MODE). */
  setManualOfficeMode(ref: LockRef, on: boolean, opts: { at?: number; actor?: string } = {}): ActionResult {
    const lock = this.device(ref);
    return this.act(opts.at, (at) => this.file(lock, lock.setManualOfficeMode(on, at, opts.actor ?? null)));
  }

  /** Lets time pass to `at`: door-left-open alarms, EOM auto-start and EOM ends that fall due. */
  tick(at?: number): ActionResult {
    return this.act(at, () => ({ events: [], held: [] }));
  }

  /** Runs an action at an instant, after the timed behaviours that fall due up to that instant. */
  private act<T extends ActionResult>(at: number | undefined, run: (at: number) => T): T {
    return this.guard(() => {
      const t = this.at(at);
      const due = this.advance(t);
      const result = run(t);
      return { ...result, events: [...due.events, ...result.events], held: [...due.held, ...result.held] };
    });
  }

  private advance(to: number): ActionResult {
    const from = this.lastTick;
    if (to <= from) return { events: [], held: [] };
    const due: Array<{ lock: VirtualLock; body: EventBody }> = [];
    for (const p of this.paired) {
      const lock = this.devices.get(p.lock_id)!;
      for (const body of lock.advance(this.ctx, from, to)) due.push({ lock, body });
    }
    this.lastTick = to;
    due.sort((a, b) => a.body.time - b.body.time);
    const out: ActionResult = { events: [], held: [] };
    for (const { lock, body } of due) {
      const r = this.file(lock, [body]);
      out.events.push(...r.events);
      out.held.push(...r.held);
    }
    return out;
  }

  private syncOfficeModes(at: number): void {
    for (const p of this.paired) {
      const lock = this.devices.get(p.lock_id)!;
      this.file(lock, lock.syncOfficeMode(this.ctx, at));
    }
  }
}
