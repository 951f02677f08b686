// What Gatehouse assumes about a hub or lock it has not heard from yet: a freshly registered one
// (iqs.create, locks.create) and one loaded from a site document start like this until it reports in.
import type { Iq, Lock } from './model.ts';

export const DEVICE_STATE_IQ = { online: false, data_sync_state: 'not_synced', signal_strength: null, revision: 0 } as const satisfies Partial<Iq>;

export function deviceStateLock(iqId: string | null) {
  return {
    iq_link_state: iqId ? 'attached_pending' : 'detached',
    locked_state: 'locked',
    battery_level: 'unknown',
    left_open_alarm: false,
    intrusion_alarm: false,
    tamper: false,
    privacy_mode: false,
    online: false,
    office_mode: 'none',
  } as const satisfies Partial<Lock>;
}
