// Who is calling the core. Every contract call carries one; the service checks its role.
import type { OperatorRole } from '../domain/enums.ts';

export type Actor =
  | { kind: 'operator'; id: string; name: string; role: OperatorRole; tokenHash?: string }
  | { kind: 'client'; id: string; name: string; role: OperatorRole; tokenHash?: string }
  /** The CLI, the demo seeder and other local maintenance: full rights, named in the operator log. */
  | { kind: 'system'; id: null; name: string; role: 'owner' };

export const systemActor = (name: string): Actor => ({ kind: 'system', id: null, name, role: 'owner' });
