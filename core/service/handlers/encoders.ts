// The front desk's encoder station and the site's card key. Each encoder command checks what it can at
// once (an unknown or busy encoder, a missing person), then waits for the card after its transaction (a
// Later); the EncoderManager writes what the card became in transactions of its own.
import { GatehouseError } from '../../contract/errors.ts';
import type { SiteKeyInfo } from '../../contract/results.ts';
import type { EncoderManager } from '../../encoders/encoder-manager.ts';
import { siteKeysOf } from '../../secrets/site-keys.ts';
import { SiteKeyError } from '../../secrets/site-key-backup.ts';
import type { ReadDb } from '../../store/db.ts';
import { encodingCount } from '../../store/repos/card-encodings.ts';
import { currentSiteKeyRow } from '../../store/repos/site-keys.ts';
import { getTag } from '../../store/repos/tags.ts';
import { getUser } from '../../store/repos/users.ts';
import type { HandlerGroup, QueryContext } from '../context.ts';
import { later } from '../later.ts';
import { must } from './common.ts';

type Names =
  | 'encoders.list'
  | 'encoders.read'
  | 'encoders.encode'
  | 'encoders.erase'
  | 'encoders.cancel'
  | 'encoders.tray.list'
  | 'encoders.tray.place'
  | 'encoders.tray.remove'
  | 'site.key'
  | 'site.key_export'
  | 'site.key_import';

function encodersOf(ctx: Pick<QueryContext, 'service'>): EncoderManager {
  const e = ctx.service.encoders;
  if (!e) throw new GatehouseError('unavailable', 'This Gatehouse does not drive card encoders (it runs without an encoder manager)');
  return e;
}

function siteKeyInfo(db: ReadDb): SiteKeyInfo | null {
  const row = currentSiteKeyRow(db);
  return row ? { fingerprint: row.fingerprint, generation: row.generation, source: row.source, created_at: row.created_at, encoded_cards: encodingCount(db, row.generation) } : null;
}

export const encoderHandlers: HandlerGroup<Names> = {
  'encoders.list': (ctx) => ctx.service.encoders?.state() ?? { encoders: [], problem: 'This Gatehouse does not drive card encoders', tray: false },

  'encoders.read'(ctx, { encoder_id, wait_s }) {
    const encoders = encodersOf(ctx);
    encoders.check(encoder_id);
    return later(() => encoders.read(ctx.actor, encoder_id, wait_s));
  },

  'encoders.encode'(ctx, input) {
    const encoders = encodersOf(ctx);
    encoders.check(input.encoder_id);
    siteKeysOf(ctx.service);
    must(getUser(ctx.db, input.user_id), 'User', input.user_id);
    if (input.tag_id) must(getTag(ctx.db, input.tag_id), 'Tag', input.tag_id);
    return later(() => encoders.encode(ctx.actor, input));
  },

  'encoders.erase'(ctx, { encoder_id, wait_s }) {
    const encoders = encodersOf(ctx);
    encoders.check(encoder_id);
    return later(() => encoders.erase(ctx.actor, encoder_id, wait_s));
  },

  'encoders.cancel': (ctx, { encoder_id }) => ({ cancelled: encodersOf(ctx).cancel(encoder_id) }),

  'encoders.tray.list': (ctx) => encodersOf(ctx).trayCards(),
  'encoders.tray.place': (ctx, { card_id, encoder_id }) => encodersOf(ctx).trayPlace(card_id, encoder_id),
  'encoders.tray.remove': (ctx, { encoder_id }) => encodersOf(ctx).trayRemove(encoder_id),

  'site.key': (ctx) => siteKeyInfo(ctx.db),

  'site.key_export'(ctx, { passphrase }) {
    const out = siteKeysOf(ctx.service).export(passphrase);
    // The text opens every card of the site to whoever also has the passphrase: who took one is logged.
    ctx.log({ target_type: 'site', target_id: null, after: { site_key_exported: out.fingerprint } });
    return out;
  },

  'site.key_import'(ctx, { text, passphrase }) {
    let changed: boolean;
    let fingerprint: string;
    try {
      const r = siteKeysOf(ctx.service).import(ctx.db, text, passphrase);
      changed = r.changed;
      fingerprint = r.key.fingerprint;
    } catch (e) {
      if (e instanceof SiteKeyError) throw new GatehouseError('validation', e.message, [{ path: e.code === 'wrong_passphrase' || e.code === 'weak_passphrase' ? 'passphrase' : 'text', message: e.code }]);
      throw e;
    }
    if (changed) ctx.log({ target_type: 'site', target_id: null, after: { site_key_imported: fingerprint } });
    return siteKeyInfo(ctx.db)!;
  },
};
