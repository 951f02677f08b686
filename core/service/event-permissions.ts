// Which pushed events a signed-in front end may receive. Shared by every transport that pushes events
// (the WebSocket in core/rest/events-socket.ts, the Electron core process), so that a role sees the same
// events over IPC as over the network.
import type { EventName } from '../contract/events.ts';
import { can, type Permission } from '../contract/permissions.ts';
import type { OperatorRole } from '../domain/enums.ts';

/** A record, not a list, so that a new event in the contract fails to compile until it is added here. */
const PUSHED: Record<EventName, true> = { 'model.changed': true, 'lock.state': true, 'entry.new': true, 'incident.new': true, 'iq.sync_state': true, 'tag.presented': true, 'hub.status': true, 'encoder.status': true, 'encoder.progress': true, 'cloud.status': true };

/** Every event the core pushes, in a stable order. */
export const PUSHED_EVENTS: readonly EventName[] = Object.keys(PUSHED) as EventName[];

/** Who may receive what; an event not listed here is sent to every signed-in session. */
export const EVENT_PERMISSION: Readonly<Partial<Record<EventName, Permission>>> = {
  'entry.new': 'audit.read',
  'incident.new': 'audit.read',
  'lock.state': 'hardware.read',
  'iq.sync_state': 'hardware.read',
  'tag.presented': 'people.write',
  'hub.status': 'hardware.read',
  'encoder.status': 'people.read',
  'encoder.progress': 'people.read',
  'cloud.status': 'site.read',
};

export function mayReceive(role: OperatorRole, event: EventName): boolean {
  const permission = EVENT_PERMISSION[event];
  return !permission || can(role, permission);
}

/** The events a session with this role is sent. */
export function eventsFor(role: OperatorRole): EventName[] {
  return PUSHED_EVENTS.filter((name) => mayReceive(role, name));
}
