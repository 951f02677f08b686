// What each operator role may do. The service checks these for every call; the UI only uses them to
// hide what would be refused anyway.
import type { OperatorRole } from '../domain/enums.ts';

export const PERMISSIONS = [
  'site.read',
  'site.write',
  'hardware.read',
  'hardware.write',
  'people.read',
  'people.write',
  'access.read',
  'access.write',
  'access.membership',
  'lock.remote',
  'audit.read',
  'alarms.acknowledge',
  'operators.manage',
  'integrations.manage',
  'backup',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = ['site.read', 'hardware.read', 'people.read', 'access.read', 'audit.read'];

export const ROLE_PERMISSIONS: Record<OperatorRole, ReadonlySet<Permission>> = {
  owner: new Set(PERMISSIONS),
  // Admins manage everything; what only an owner may do to other owners is checked in the handlers.
  admin: new Set(PERMISSIONS),
  front_desk: new Set([...READ, 'people.write', 'access.membership', 'lock.remote', 'alarms.acknowledge']),
  installer: new Set([...READ, 'hardware.write', 'alarms.acknowledge']),
  auditor: new Set(READ),
};

export function can(role: OperatorRole, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}
