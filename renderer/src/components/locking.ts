// What LockingDialog.vue confirms: a remote opening, locking or office mode at one door.
import type { Lock } from '../../../core/contract/index.ts';

export type Locking = 'unlocked' | 'locked' | 'office_mode';

export interface LockingRequest {
  lock: Pick<Lock, 'id' | 'customer_reference' | 'online'>;
  state: Locking;
}
