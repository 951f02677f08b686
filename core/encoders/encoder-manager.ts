// The card encoders attached to this installation and the front desk's work on them: encode a card for
// a person, re-issue a tag onto a new card, say whose a card is, wipe one. The card's bytes are the
// driver's (ports.ts); this module decides which tag number and issue counter a card gets, and keeps the
// order that loses nothing (docs/credentials.md, "Encoding in the core"):
//
//   1. the card is read, and the number and counter it will get are committed as an encoding 'writing'
//      (reserving the number: no other card gets it);
//   2. only then is the card written, and read back;
//   3. once it verified, the tag is created (or re-issued) and assigned in one transaction, which is
//      what puts it in the hubs' tables.
//
// A card pulled off, a failed write or a host killed between 1 and 3 leaves the encoding unfinished; the
// card may hold that number, so laying it on the encoder again finishes it with exactly that number and
// counter ("repaired"). A half-written card is never reported as encoded: step 3 only follows a read-back
// whose MAC checks out.
import type { EncoderStep } from '../contract/events.ts';
import { GatehouseError } from '../contract/errors.ts';
import type { CardReport, EncodeResult, EncodersState, EncoderStatus, TagDetail, TrayCard } from '../contract/results.ts';
import type { Tag } from '../domain/model.ts';
import { siteKeysOf, type SiteKey } from '../secrets/site-keys.ts';
import type { Actor } from '../service/actor.ts';
import type { CommandContext } from '../service/context.ts';
import { createTag, userDetail } from '../service/handlers/people.ts';
import { newId } from '../service/handlers/common.ts';
import type { GatehouseService } from '../service/service.ts';
import { listEntries } from '../audit/query.ts';
import { can } from '../contract/permissions.ts';
import { finishCardEncoding, insertCardEncoding, interruptedEncodings, openEncodingOfCard, type CardEncoding } from '../store/repos/card-encodings.ts';
import { getTag, getTagByUid, nextTagNumber, updateTag } from '../store/repos/tags.ts';
import { getUser } from '../store/repos/users.ts';
import type { EncoderChange, EncoderDevice, EncoderErrorCode, EncoderSource, EncoderTray, PresentedCard } from './ports.ts';

const CLASSIC = new Set(['mifare_classic_1k', 'mifare_classic_4k']);

interface Slot {
  device: EncoderDevice;
  off: () => void;
  /** Aborts the current wait for a card (encoders.cancel, detach). */
  waiting: AbortController | null;
  busy: boolean;
}

export interface EncodeInput {
  encoder_id: string;
  user_id: string;
  tag_id?: string | undefined;
  wait_s: number;
}

/** What step 1 decided for a card. */
interface Plan {
  encoding: CardEncoding;
  /** The tag that moves to this card (re-issue, or a registered tag without a card credential yet). */
  tagId: string | null;
  repaired: boolean;
}

function failureCode(e: unknown): EncoderErrorCode | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ['card_removed', 'no_card', 'not_supported', 'foreign_card', 'verify_failed', 'detached', 'failed'].includes(code) ? (code as EncoderErrorCode) : null;
}

const cardLabel: Record<string, string> = {
  mifare_ultralight: 'a MIFARE Ultralight / NTAG',
  mifare_desfire: 'a MIFARE DESFire',
  unknown: 'not a card type Gatehouse knows',
};

export class EncoderManager {
  private readonly slots = new Map<string, Slot>();
  private readonly offs: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly service: GatehouseService,
    private readonly source: EncoderSource,
    private readonly tray: EncoderTray | null = null,
  ) {
    for (const d of source.list()) this.#attach(d);
    this.offs.push(source.onAttach((d) => this.#attach(d)));
    // A host stopped while a card was being written: the card may hold the number; keep it reserved.
    const stale = interruptedEncodings(service.db.read);
    if (stale.length > 0) {
      service.db.transaction((w) => {
        for (const e of stale) finishCardEncoding(w, e.id, 'failed', new Date(service.now()).toISOString(), 'Gatehouse stopped while the card was on the encoder');
      });
    }
    service.encoders = this;
  }

  #attach(device: EncoderDevice): void {
    if (this.closed || this.slots.has(device.id)) return;
    const slot: Slot = { device, off: () => {}, waiting: null, busy: false };
    slot.off = device.onChange((c: EncoderChange) => {
      if (c.type === 'detached') {
        slot.waiting?.abort();
        slot.off();
        this.slots.delete(device.id);
      }
      this.#status();
    });
    this.slots.set(device.id, slot);
    this.#status();
  }

  state(): EncodersState {
    const encoders: EncoderStatus[] = [...this.slots.values()].map(({ device, busy }) => ({
      id: device.id,
      name: device.name,
      firmware: device.firmware,
      simulated: device.simulated,
      card: device.card(),
      busy,
    }));
    return { encoders, problem: encoders.length ? null : this.source.problem(), tray: this.tray !== null };
  }

  #status(): void {
    if (!this.closed) this.service.emit('encoder.status', this.state());
  }

  #progress(encoderId: string, step: EncoderStep, blocksWritten = 0, message: string | null = null): void {
    this.service.emit('encoder.progress', { encoder_id: encoderId, step, blocks_written: blocksWritten, message });
  }

  /** Refuses at once (before any wait) what cannot start: an unknown or busy encoder. */
  check(encoderId: string): void {
    const slot = this.slots.get(encoderId);
    if (!slot) throw new GatehouseError('not_found', `No encoder '${encoderId}' is attached${this.slots.size ? '' : ' (none is)'}`, [{ path: 'encoder_id', message: 'not attached' }]);
    if (slot.busy) throw new GatehouseError('conflict', `${slot.device.name} is busy with another card; wait for it or cancel it first`, [{ path: 'encoder_id', message: 'busy' }]);
  }

  /** Runs `work` with the encoder to itself, once a card lies on it. */
  async #withCard<T>(encoderId: string, waitS: number, work: (device: EncoderDevice, card: PresentedCard) => Promise<T>): Promise<T> {
    this.check(encoderId);
    const slot = this.slots.get(encoderId)!;
    slot.busy = true;
    slot.waiting = new AbortController();
    this.#status();
    const timer = setTimeout(() => slot.waiting?.abort(), waitS * 1000);
    try {
      this.#progress(encoderId, 'waiting_for_card');
      let card: PresentedCard;
      try {
        card = await slot.device.waitForCard(slot.waiting.signal);
      } catch (e) {
        if (failureCode(e) === 'no_card' || failureCode(e) === 'detached') {
          throw new GatehouseError('unavailable', failureCode(e) === 'detached' ? `${slot.device.name} was unplugged` : `No card was laid on ${slot.device.name}`);
        }
        throw e;
      } finally {
        clearTimeout(timer);
        slot.waiting = null;
      }
      return await work(slot.device, card);
    } catch (e) {
      this.#progress(encoderId, 'failed', 0, e instanceof Error ? e.message : String(e));
      throw e;
    } finally {
      slot.busy = false;
      this.#status();
    }
  }

  cancel(encoderId: string): boolean {
    const slot = this.slots.get(encoderId);
    if (!slot?.waiting) return false;
    slot.waiting.abort();
    return true;
  }

  /** "Whose card is this?" */
  read(actor: Actor | null, encoderId: string, waitS: number): Promise<CardReport> {
    const keys = siteKeysOf(this.service);
    return this.#withCard(encoderId, waitS, async (device) => {
      this.#progress(encoderId, 'reading');
      const site = keys.currentOrCreate();
      const reading = await this.#driver(device, () => device.read(site.key, site.site_id));
      const db = this.service.db.read;
      const tag = getTagByUid(db, reading.uid);
      const open = openEncodingOfCard(db, reading.uid);
      const owner = tag?.user_id ? userDetail(db, tag.user_id) : null;
      const mayAudit = actor?.kind === 'operator' || actor?.kind === 'client' ? can(actor.role, 'audit.read') : false;
      const report: CardReport = {
        encoder_id: encoderId,
        uid: reading.uid,
        card_type: reading.card_type,
        credential: reading.credential,
        tag_number: reading.tag_number,
        issue_counter: reading.issue_counter,
        superseded: reading.credential === 'genuine' && tag !== null && reading.issue_counter !== null && reading.issue_counter < tag.issue_counter,
        tag,
        owner,
        last_entries: tag && mayAudit ? listEntries(db, { tag_id: tag.id }, { direction: 'older', limit: 5, with_count: false }).items : [],
        interrupted: open ? { tag_number: open.tag_number, issue_counter: open.issue_counter, started_at: open.started_at, failure: open.failure } : null,
      };
      this.#progress(encoderId, 'done');
      return report;
    });
  }

  /** Encode (or re-issue, or repair) a card for a person; see the order at the top of this file. */
  encode(actor: Actor | null, input: EncodeInput): Promise<EncodeResult> {
    const keys = siteKeysOf(this.service);
    return this.#withCard(input.encoder_id, input.wait_s, async (device) => {
      const started = this.service.now();
      const site = keys.currentOrCreate();
      this.#progress(input.encoder_id, 'reading');
      const reading = await this.#driver(device, () => device.read(site.key, site.site_id));
      if (!CLASSIC.has(reading.card_type)) {
        await device.feedback('failure').catch(() => {});
        throw new GatehouseError('validation', `This card is ${cardLabel[reading.card_type] ?? reading.card_type}: it cannot carry a Gatehouse credential. Use a MIFARE Classic card.`, [
          { path: 'card', message: reading.card_type },
        ]);
      }
      // What the read found is the card now (the one waited for may have been swapped since).
      const uid = reading.uid;
      const plan = this.service.transact(actor, 'encoders.encode', (ctx) => this.#plan(ctx, input, uid, site, device.id));
      const { encoding } = plan;
      let written;
      try {
        written = await this.#driver(device, () =>
          device.encode({
            siteKey: site.key,
            siteId: site.site_id,
            tagNumber: encoding.tag_number,
            issueCounter: encoding.issue_counter,
            uid,
            onStep: (step, blocks) => this.#progress(input.encoder_id, step, blocks),
          }),
        );
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        this.service.transact(actor, 'encoders.encode', (ctx) => finishCardEncoding(ctx.db, encoding.id, 'failed', ctx.nowIso, message));
        await device.feedback('failure').catch(() => {});
        throw e;
      }
      if (written.credential !== 'genuine' || written.tag_number !== encoding.tag_number || written.issue_counter !== encoding.issue_counter) {
        this.service.transact(actor, 'encoders.encode', (ctx) => finishCardEncoding(ctx.db, encoding.id, 'failed', ctx.nowIso, `read back as ${written.credential}`));
        throw new GatehouseError('internal', `The card read back as ${written.credential} after writing; lay it on the encoder again`);
      }
      this.#progress(input.encoder_id, 'saving', 4);
      const tag = this.service.transact(actor, 'encoders.encode', (ctx) => this.#commit(ctx, plan, input.user_id));
      await device.feedback('success').catch(() => {});
      this.#progress(input.encoder_id, 'done', 4);
      return { tag, uid, issue_counter: encoding.issue_counter, reissued: plan.tagId !== null, repaired: plan.repaired, duration_ms: this.service.now() - started };
    });
  }

  /** Step 1: what this card gets, committed before a byte is written. */
  #plan(ctx: CommandContext, input: EncodeInput, uid: string, site: SiteKey, encoderId: string): Plan {
    const user = getUser(ctx.db, input.user_id);
    if (!user) throw new GatehouseError('not_found', `User '${input.user_id}' does not exist`, [{ path: 'user_id', message: 'not found' }]);
    const name = `${user.first_name} ${user.last_name}`.trim();
    const onCard = getTagByUid(ctx.db, uid);
    const open = openEncodingOfCard(ctx.db, uid);
    const holder = (t: Tag) => (t.user_id ? (getUser(ctx.db, t.user_id) ?? null) : null);
    const holderName = (t: Tag) => {
      const h = holder(t);
      return h ? `${h.first_name} ${h.last_name}`.trim() : 'nobody';
    };

    let tagId: string | null = null;
    let tagNumber: string;
    let counter: number;
    if (input.tag_id) {
      const target = getTag(ctx.db, input.tag_id);
      if (!target) throw new GatehouseError('not_found', `Tag '${input.tag_id}' does not exist`, [{ path: 'tag_id', message: 'not found' }]);
      if (target.user_id && target.user_id !== user.id) {
        throw new GatehouseError('conflict', `Tag ${target.tag_number} belongs to ${holderName(target)}, not ${name}`, [{ path: 'tag_id', message: 'another person’s tag' }]);
      }
      if (onCard && onCard.id !== target.id) {
        throw new GatehouseError('conflict', `This card already is tag ${onCard.tag_number} (${holderName(onCard)}); erase it or use another card`, [{ path: 'card', message: 'already a tag' }]);
      }
      tagId = target.id;
      tagNumber = target.tag_number;
      counter = target.issue_counter + 1;
    } else if (onCard) {
      if (onCard.user_id) {
        throw new GatehouseError(
          'conflict',
          onCard.user_id === user.id
            ? `This card already is ${name}'s tag ${onCard.tag_number}`
            : `This card is tag ${onCard.tag_number} of ${holderName(onCard)}; report it lost and re-issue, or erase it first`,
          [{ path: 'card', message: 'already a tag' }],
        );
      }
      // A tag registered without an owner (imported, enrolled at a lock): it gets its credential and owner.
      tagId = onCard.id;
      tagNumber = onCard.tag_number;
      counter = onCard.issue_counter + 1;
    } else {
      tagNumber = '';
      counter = 1;
    }

    // The card's unfinished encoding for the same purpose: finish it with what it may already hold.
    if (open && open.user_id === user.id && open.tag_id === tagId && open.site_key_generation === site.generation) {
      finishCardEncoding(ctx.db, open.id, 'abandoned', ctx.nowIso);
      const encoding = this.#reserve(ctx, { ...open, id: newId(), encoder: encoderId }, ctx.nowIso);
      return { encoding, tagId, repaired: true };
    }
    if (open) finishCardEncoding(ctx.db, open.id, 'abandoned', ctx.nowIso);
    if (!tagNumber) tagNumber = nextTagNumber(ctx.db);
    const encoding = this.#reserve(
      ctx,
      {
        id: newId(),
        card_uid: uid,
        tag_number: tagNumber,
        issue_counter: counter,
        tag_id: tagId,
        user_id: user.id,
        site_key_generation: site.generation,
        encoder: encoderId,
        state: 'writing',
        failure: null,
        operator: ctx.actor?.name ?? null,
        started_at: ctx.nowIso,
        finished_at: null,
      },
      ctx.nowIso,
    );
    return { encoding, tagId, repaired: false };
  }

  #reserve(ctx: CommandContext, e: CardEncoding, at: string): CardEncoding {
    const row: CardEncoding = { ...e, state: 'writing', failure: null, started_at: at, finished_at: null, operator: ctx.actor?.name ?? null };
    insertCardEncoding(ctx.db, row);
    return row;
  }

  /** Step 3: the card verified; the tag follows, in one transaction. */
  #commit(ctx: CommandContext, plan: Plan, userId: string): TagDetail {
    const { encoding } = plan;
    finishCardEncoding(ctx.db, encoding.id, 'verified', ctx.nowIso);
    if (plan.tagId) {
      const { owner: _o, ...before } = getTag(ctx.db, plan.tagId) ?? (() => {
        throw new GatehouseError('conflict', 'The tag was deleted while its card was being written; encode the card again');
      })();
      const after: Tag = {
        ...before,
        card_uid: encoding.card_uid,
        issue_counter: encoding.issue_counter,
        user_id: userId,
        blocked: false,
        lost_or_stolen: false,
        lost_or_stolen_date: null,
        updated_at: ctx.nowIso,
      };
      updateTag(ctx.db, after);
      ctx.log({
        target_type: 'tag',
        target_id: after.id,
        before: { card_uid: before.card_uid, issue_counter: before.issue_counter, user_id: before.user_id, blocked: before.blocked, lost_or_stolen: before.lost_or_stolen },
        after: { card_uid: after.card_uid, issue_counter: after.issue_counter, user_id: after.user_id, blocked: false, lost_or_stolen: false, encoder: encoding.encoder },
        touches: [{ kind: 'tag', id: after.id }, { kind: 'user', id: userId }, ...(before.user_id && before.user_id !== userId ? [{ kind: 'user' as const, id: before.user_id }] : [])],
      });
      return getTag(ctx.db, after.id)!;
    }
    const tag = createTag(ctx, { tag_number: encoding.tag_number, issue_counter: encoding.issue_counter, card_uid: encoding.card_uid, kind: 'card', source_iq_id: null, user_id: userId, blocked: false });
    return getTag(ctx.db, tag.id)!;
  }

  /** Wipes a card of this site back to transport keys. */
  erase(actor: Actor | null, encoderId: string, waitS: number): Promise<{ uid: string }> {
    const keys = siteKeysOf(this.service);
    return this.#withCard(encoderId, waitS, async (device) => {
      const site = keys.currentOrCreate();
      const card = await this.#driver(device, () => device.read(site.key, site.site_id));
      const tag = getTagByUid(this.service.db.read, card.uid);
      if (tag?.user_id && !tag.lost_or_stolen && !tag.blocked) {
        throw new GatehouseError('conflict', `This card is tag ${tag.tag_number}, held by ${tag.owner ? `${tag.owner.first_name} ${tag.owner.last_name}` : 'someone'}; unassign or block the tag before erasing the card`, [
          { path: 'card', message: 'tag in use' },
        ]);
      }
      this.#progress(encoderId, 'writing');
      await this.#driver(device, () => device.erase(site.key, card.uid));
      this.service.transact(actor, 'encoders.erase', (ctx) => {
        const open = openEncodingOfCard(ctx.db, card.uid);
        if (open) finishCardEncoding(ctx.db, open.id, 'abandoned', ctx.nowIso);
        ctx.log({ target_type: 'tag', target_id: tag?.id ?? null, after: { erased_card: card.uid } });
      });
      await device.feedback('success').catch(() => {});
      this.#progress(encoderId, 'done');
      return { uid: card.uid };
    });
  }

  /** A driver's failure, as an operator should read it. */
  async #driver<T>(device: EncoderDevice, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      const code = failureCode(e);
      if (!code) throw e;
      const message = (e as Error).message;
      switch (code) {
        case 'card_removed':
          throw new GatehouseError('conflict', `${message} Lay the same card on the encoder again and encode it to finish it.`);
        case 'not_supported':
        case 'foreign_card':
          throw new GatehouseError('validation', message, [{ path: 'card', message: code }]);
        case 'detached':
          throw new GatehouseError('unavailable', `${device.name} was unplugged: ${message}`);
        default:
          throw new GatehouseError('unavailable', message);
      }
    }
  }

  trayCards(): TrayCard[] {
    return this.#tray().cards();
  }

  trayPlace(cardId: string, encoderId: string): TrayCard[] {
    const tray = this.#tray();
    if (!tray.cards().some((c) => c.id === cardId)) throw new GatehouseError('not_found', `No card '${cardId}' in the tray`, [{ path: 'card_id', message: 'not in the tray' }]);
    if (!this.slots.has(encoderId)) throw new GatehouseError('not_found', `No encoder '${encoderId}' is attached`, [{ path: 'encoder_id', message: 'not attached' }]);
    tray.place(cardId, encoderId);
    return tray.cards();
  }

  trayRemove(encoderId: string): TrayCard[] {
    const tray = this.#tray();
    tray.remove(encoderId);
    return tray.cards();
  }

  #tray(): EncoderTray {
    if (!this.tray) throw new GatehouseError('unavailable', 'There is no demo card tray here (only `gatehouse serve --demo` has one)');
    return this.tray;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    for (const s of this.slots.values()) {
      s.waiting?.abort();
      s.off();
    }
    this.slots.clear();
    if (this.service.encoders === this) this.service.encoders = null;
  }
}
