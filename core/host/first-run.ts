// First start of an installation: create the site and the first owner. The owner's password comes from
// the caller (GATEHOUSE_OWNER_PASSWORD) or is generated and returned so it can be printed once.
import { randomUUID } from 'node:crypto';
import type { SiteDatabase } from '../store/db.ts';
import { countOwners, insertOperator } from '../store/repos/operators.ts';
import { appendOperatorLog } from '../store/repos/operator-log.ts';
import { getSite, insertSite } from '../store/repos/site.ts';
import { hashSecret, randomPassword } from '../service/passwords.ts';
import { isValidZone } from '../time/zone.ts';

export interface FirstRunResult {
  created: boolean;
  /** Set only when a password was generated here: show it once. */
  generatedPassword: string | null;
}

export function systemTimeZone(): string {
  const z = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return z && isValidZone(z) ? z : 'UTC';
}

export function ensureSite(db: SiteDatabase, opts: { name?: string; timeZone?: string; ownerPassword?: string; now?: number }): FirstRunResult {
  const nowIso = new Date(opts.now ?? Date.now()).toISOString();
  return db.transaction((w) => {
    let created = false;
    if (!getSite(w)) {
      const id = randomUUID();
      insertSite(w, {
        id,
        site_uid: `GH${Date.now().toString().slice(-10)}`,
        customer_reference: opts.name ?? 'My site',
        time_zone: opts.timeZone ?? systemTimeZone(),
        created_at: nowIso,
        updated_at: nowIso,
      });
      created = true;
    }
    let generatedPassword: string | null = null;
    if (countOwners(w) === 0) {
      const password = opts.ownerPassword ?? (generatedPassword = randomPassword(12));
      const opId = randomUUID();
      insertOperator(w, { id: opId, username: 'owner', display_name: 'Owner', role: 'owner', password_hash: hashSecret(password), pin_hash: null, now: nowIso });
      appendOperatorLog(w, [
        { at: nowIso, actor_kind: 'system', actor_id: null, actor_name: 'first-run', command: 'setup', target_type: 'operator', target_id: opId, before: null, after: { username: 'owner', role: 'owner' } },
      ]);
    }
    return { created, generatedPassword };
  });
}
