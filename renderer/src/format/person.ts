// Between the contract's person record and the form's draft (dates as epoch ms for the pickers).
import type { User, UserKind } from '../../../core/contract/index.ts';

export interface PersonDraft {
  first_name: string;
  last_name: string;
  email: string;
  alias: string;
  phone: string;
  kind: UserKind;
  valid_from: number | null;
  valid_until: number | null;
  blocked: boolean;
  remote_access: boolean;
  toggle_easy_office_mode: boolean;
  toggle_manual_office_mode: boolean;
  override_privacy_mode: boolean;
  notes: string;
}

export function emptyDraft(): PersonDraft {
  return {
    first_name: '',
    last_name: '',
    email: '',
    alias: '',
    phone: '',
    kind: 'employee',
    valid_from: null,
    valid_until: null,
    blocked: false,
    remote_access: false,
    toggle_easy_office_mode: false,
    toggle_manual_office_mode: false,
    override_privacy_mode: false,
    notes: '',
  };
}

export function draftOf(u: User): PersonDraft {
  return {
    first_name: u.first_name,
    last_name: u.last_name,
    email: u.email ?? '',
    alias: u.alias ?? '',
    phone: u.phone ?? '',
    kind: u.kind,
    valid_from: u.valid_from ? Date.parse(u.valid_from) : null,
    valid_until: u.valid_until ? Date.parse(u.valid_until) : null,
    blocked: u.blocked,
    remote_access: u.remote_access,
    toggle_easy_office_mode: u.toggle_easy_office_mode,
    toggle_manual_office_mode: u.toggle_manual_office_mode,
    override_privacy_mode: u.override_privacy_mode,
    notes: u.notes ?? '',
  };
}

const orNull = (s: string) => (s.trim() === '' ? null : s.trim());
const instant = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function fieldsOf(d: PersonDraft) {
  return {
    first_name: d.first_name.trim(),
    last_name: d.last_name.trim(),
    email: orNull(d.email),
    alias: orNull(d.alias),
    phone: orNull(d.phone),
    kind: d.kind,
    valid_from: instant(d.valid_from),
    valid_until: instant(d.valid_until),
    blocked: d.blocked,
    remote_access: d.remote_access,
    toggle_easy_office_mode: d.toggle_easy_office_mode,
    toggle_manual_office_mode: d.toggle_manual_office_mode,
    override_privacy_mode: d.override_privacy_mode,
    notes: orNull(d.notes),
  };
}

/** How a person is named on every screen: their name, else alias, e-mail or id. */
export function displayName(u: { first_name: string; last_name: string; alias?: string | null; email?: string | null; id: string }): string {
  return `${u.first_name} ${u.last_name}`.trim() || u.alias || u.email || u.id;
}
