// What a command touched, by kind, so the access engine can refresh just that part of its snapshot.
export type TouchKind = 'site' | 'iq' | 'lock' | 'user' | 'tag' | 'access_group' | 'holiday_calendar' | 'operator' | 'api_client' | 'entry';

export class ChangeSet {
  readonly byKind = new Map<TouchKind, Set<string>>();

  touch(kind: TouchKind, id: string): void {
    let set = this.byKind.get(kind);
    if (!set) this.byKind.set(kind, (set = new Set()));
    set.add(id);
  }

  ids(kind: TouchKind): Set<string> {
    return this.byKind.get(kind) ?? new Set();
  }

  has(kind: TouchKind): boolean {
    return (this.byKind.get(kind)?.size ?? 0) > 0;
  }

  get empty(): boolean {
    return this.byKind.size === 0;
  }
}
