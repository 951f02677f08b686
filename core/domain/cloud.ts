// The shapes the cloud sync engine keeps about records (docs/cloud-sync.md).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A record's cloud fields as a flat map; absent and null are the same value ("not set"). Memberships
 * are fields of their own (`user:<id>: true`), so adding one member never touches another.
 */
export type Fields = Readonly<Record<string, Json>>;

/** The records the cloud has too; holiday calendars and operators stay on the site. */
export const CLOUD_KINDS = ['iq', 'lock', 'user', 'tag', 'access_group'] as const;
export type CloudKind = (typeof CLOUD_KINDS)[number];
/** What carries a cloud id of its own: the synced records and an access group's time schedules. */
export type LinkKind = CloudKind | 'time_schedule';
