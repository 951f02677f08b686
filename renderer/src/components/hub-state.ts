// How a hub link's state is shown (hubs page, commissioning wizard).
import type { HubStatus } from '../../../core/contract/index.ts';

export const HUB_STATE_TYPE: Record<HubStatus['state'], 'default' | 'warning' | 'info' | 'success' | 'error'> = {
  connecting: 'default',
  unclaimed: 'warning',
  syncing: 'info',
  ready: 'success',
  failed: 'error',
  closed: 'default',
};
