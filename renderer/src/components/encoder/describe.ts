// What the station says about a card and about a failure, in the operator's language. The core decides
// (its verdict, its refusal and message); this only chooses the words: a translated headline from
// what the core reports in a structured way (the verdict, an error's issue), with the core's own
// message kept beside it as the detail.
import { GatehouseError, type CardReport, type TagDetail } from '../../../../core/contract/index.ts';

type T = (key: string, params?: Record<string, unknown>) => string;
export type Tone = 'success' | 'info' | 'warning' | 'error';

export interface Said {
  tone: Tone;
  title: string;
  detail: string | null;
  /** A stable name of the case, for the tests and the station's buttons. */
  kind: string;
}

const CLASSIC = new Set(['mifare_classic_1k', 'mifare_classic_4k']);
export const isClassic = (cardType: string) => CLASSIC.has(cardType);

export function cardTypeName(t: T, cardType: string): string {
  return ['mifare_classic_1k', 'mifare_classic_4k', 'mifare_ultralight', 'mifare_desfire'].includes(cardType) ? t(`encoders.cardTypes.${cardType}`) : t('encoders.cardTypes.unknown');
}

/** A failed encode, read or cancel: a headline by what the core's issues say, the core's message as detail. */
export function describeError(t: T, e: Error, work: 'encode' | 'read'): Said {
  const issues = e instanceof GatehouseError ? (e.issues ?? []) : [];
  const about = (path: string) => issues.find((i) => i.path === path)?.message;
  const card = about('card');
  const encoder = about('encoder_id');
  const base = { tone: 'error' as const, detail: e.message };
  if (card && ['mifare_ultralight', 'mifare_desfire', 'unknown', 'not_supported'].includes(card)) return { ...base, tone: 'warning', kind: 'unsupported', title: t('encoders.errors.unsupported') };
  if (card === 'already a tag') return { ...base, tone: 'warning', kind: 'already_tag', title: t('encoders.errors.alreadyTag') };
  if (card === 'foreign_card') return { ...base, tone: 'warning', kind: 'foreign', title: t('encoders.errors.foreign') };
  if (about('tag_id')) return { ...base, kind: 'tag', title: t('encoders.errors.tag') };
  if (encoder === 'busy') return { ...base, tone: 'warning', kind: 'busy', title: t('encoders.errors.busy') };
  if (encoder) return { ...base, kind: 'gone', title: t('encoders.errors.gone') };
  if (e instanceof GatehouseError && e.code === 'forbidden') return { ...base, kind: 'forbidden', title: t('common.forbidden') };
  return { ...base, kind: 'failed', title: work === 'encode' ? t('encoders.errors.notEncoded') : t('encoders.errors.notRead') };
}

/**
 * "Whose card is this?" in plain words. `current` is the tag with the number a genuine credential
 * carries, when that tag is no longer on this card (it was re-issued onto another).
 */
export function describeCard(t: T, r: CardReport, current: TagDetail | null): Said {
  const n = r.tag?.tag_number ?? r.tag_number ?? '';
  const uidMatches = r.tag ? ' ' + t('encoders.verdicts.uidMatches', { n: r.tag.tag_number }) : '';
  switch (r.credential) {
    case 'genuine': {
      if (r.superseded && r.tag)
        return { tone: 'error', kind: 'superseded', title: t('encoders.verdicts.superseded', { n }), detail: t('encoders.verdicts.supersededDetail', { k: r.issue_counter ?? '?', m: r.tag.issue_counter }) };
      if (r.tag && r.tag.tag_number !== r.tag_number)
        return { tone: 'error', kind: 'mismatch', title: t('encoders.verdicts.mismatch'), detail: t('encoders.verdicts.mismatchDetail', { carried: r.tag_number ?? '?', n: r.tag.tag_number }) };
      if (r.tag) return { tone: 'success', kind: 'genuine', title: t('encoders.verdicts.genuine'), detail: t('encoders.verdicts.genuineDetail', { n, k: r.issue_counter ?? '?' }) };
      if (current && current.card_uid && current.card_uid !== r.uid)
        return {
          tone: 'error',
          kind: 'replaced',
          title: t('encoders.verdicts.replaced', { n }),
          detail: t('encoders.verdicts.replacedDetail', { n, uid: current.card_uid, m: current.issue_counter, k: r.issue_counter ?? '?' }),
        };
      return { tone: 'warning', kind: 'orphan', title: t('encoders.verdicts.orphan'), detail: t('encoders.verdicts.orphanDetail', { n }) };
    }
    case 'credential_missing':
      if (r.tag) return { tone: 'error', kind: 'copied', title: t('encoders.verdicts.copied', { n: r.tag.tag_number }), detail: t('encoders.verdicts.copiedDetail', { n: r.tag.tag_number }) };
      return { tone: 'info', kind: 'blank', title: t('encoders.verdicts.blank'), detail: t('encoders.verdicts.blankDetail') };
    case 'credential_wrong_site':
      return { tone: 'warning', kind: 'wrong_site', title: t('encoders.verdicts.wrongSite'), detail: t('encoders.verdicts.wrongSiteDetail') + uidMatches };
    case 'credential_forged':
      return { tone: 'error', kind: 'forged', title: r.tag ? t('encoders.verdicts.forgedTag', { n: r.tag.tag_number }) : t('encoders.verdicts.forged'), detail: t('encoders.verdicts.forgedDetail') };
    case 'credential_unsupported_version':
      return { tone: 'warning', kind: 'version', title: t('encoders.verdicts.version'), detail: t('encoders.verdicts.versionDetail') + uidMatches };
    case 'not_supported':
    default:
      return {
        tone: 'warning',
        kind: 'unsupported',
        title: t('encoders.verdicts.unsupported'),
        detail: t('encoders.verdicts.unsupportedDetail', { type: cardTypeName(t, r.card_type) }) + (r.tag ? ' ' + t('encoders.verdicts.unsupportedTag', { n: r.tag.tag_number }) : ''),
      };
  }
}

/** A tag's state as the Tags screen names it. */
export function tagState(t: T, tag: TagDetail): { tone: Tone; text: string } {
  if (tag.lost_or_stolen) return { tone: 'error', text: t('tags.lost') };
  if (tag.blocked) return { tone: 'warning', text: t('tags.blocked') };
  return { tone: 'success', text: t('tags.active') };
}
