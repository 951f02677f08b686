// Typed calls for one KS Connect site (domain.md §1.4), under /v1.1/sites/{site_id}: the one version
// that serves every resource Gatehouse syncs, entries included (/v1.2 answers 405 on entries).
import type { KsHttp, Method, RequestOptions } from './http.ts';
import { createOnce, type CreateOutcome } from './idempotent-create.ts';
import { and, eq, formatFilter, type ODataFilter } from './odata.ts';
import { followContinuationTokens, followNextPageLinks, type Query } from './paging.ts';
import type {
  KsAccessGroup,
  KsEasyOfficeModeSchedule,
  KsEntry,
  KsIncident,
  KsIq,
  KsIqCreate,
  KsIqPatch,
  KsKey,
  KsLock,
  KsLockCreate,
  KsLockPatch,
  KsSite,
  KsSubscriptionState,
  KsTag,
  KsTagCreate,
  KsTagPatch,
  KsTimeSchedule,
  KsTimeScheduleInput,
  KsUser,
  KsUserCreate,
  KsUserPatch,
} from './types.ts';

export interface CreatedUser {
  user: KsUser;
  /**
   * KS answers 201 even when the site has no free seat and parks the user as `suspended`
   * (domain.md §1.9): the admin has to be told, the HTTP status never will.
   */
  suspended: boolean;
}

export interface ListOptions {
  filter?: ODataFilter;
  top?: number;
  orderby?: string;
}

export interface KsConnectClientOptions {
  http: KsHttp;
  /** The site's UUID; the human site_uid is refused by KS with 1100. */
  siteId: string;
  /** How long after a create 2202/2203 about that record count as "not yet" (domain.md §1.9: about a minute). */
  settleWindowMs?: number;
  now?: () => number;
}

const enc = encodeURIComponent;

function listQuery(opts: ListOptions): Query {
  return { $filter: opts.filter ? formatFilter(opts.filter) : undefined, $top: opts.top, $orderby: opts.orderby };
}

export class KsConnectClient {
  readonly siteId: string;
  readonly #http: KsHttp;
  readonly #settleWindowMs: number;
  readonly #now: () => number;
  /** Ids created by this client recently, with when: calls naming them may meet 2202/2203 for a while. */
  readonly #fresh = new Map<string, number>();

  constructor(opts: KsConnectClientOptions) {
    this.#http = opts.http;
    this.siteId = opts.siteId;
    this.#settleWindowMs = opts.settleWindowMs ?? 120_000;
    this.#now = opts.now ?? Date.now;
  }

  get #site(): string {
    return `/v1.1/sites/${enc(this.siteId)}`;
  }

  #markFresh(...ids: string[]): void {
    const now = this.#now();
    for (const [id, at] of this.#fresh) if (now - at > this.#settleWindowMs) this.#fresh.delete(id);
    for (const id of ids) this.#fresh.set(id, now);
  }

  #isFresh(ids: string[]): boolean {
    const now = this.#now();
    return ids.some((id) => {
      const at = this.#fresh.get(id);
      return at !== undefined && now - at <= this.#settleWindowMs;
    });
  }

  async #call<T>(method: Method, path: string, ids: string[], opts: RequestOptions = {}): Promise<T> {
    return (await this.#http.request<T>(method, `${this.#site}${path}`, { afterCreate: this.#isFresh(ids), ...opts })).body;
  }

  // --- site -------------------------------------------------------------------------------------

  site(): Promise<KsSite> {
    return this.#call('GET', '', []);
  }

  // --- users ------------------------------------------------------------------------------------

  users(opts: ListOptions = {}): AsyncGenerator<KsUser> {
    return followNextPageLinks<KsUser>(this.#http, `${this.#site}/users`, listQuery(opts));
  }

  /** By site-user id (`id`), not the platform id. */
  getUser(siteUserId: string): Promise<KsUser> {
    return this.#call('GET', `/users/${enc(siteUserId)}`, [siteUserId]);
  }

  async createUser(body: KsUserCreate): Promise<CreatedUser> {
    const user = await this.#call<KsUser>('POST', '/users', [], { body });
    this.#markFresh(user.id, user.user.id);
    return { user, suspended: user.subscription_state === 'suspended' };
  }

  /**
   * createUser that never makes a second user when an answer is lost (idempotent-create.ts). The
   * user is recognised by email when it has one (KS's identity for a person with a profile), else by
   * alias, first and last name together.
   */
  async createUserOnce(body: KsUserCreate, opts: { adoptExisting: boolean }): Promise<CreatedUser & { outcome: CreateOutcome }> {
    const match = body.email
      ? eq('user/email', body.email)
      : and(eq('alias', body.alias ?? null), eq('user/first_name', body.first_name ?? null), eq('user/last_name', body.last_name ?? null));
    const { record, outcome } = await createOnce<KsUser>(
      {
        create: async () => (await this.createUser(body)).user,
        find: () => collect(this.users({ filter: match })),
        idOf: (u) => u.id,
        adoptExisting: opts.adoptExisting,
      },
      this.#http.retry,
    );
    if (outcome !== 'created') this.#markFresh(record.id, record.user.id);
    return { user: record, suspended: record.subscription_state === 'suspended', outcome };
  }

  /** Only the fields given change; null clears one. */
  updateUser(siteUserId: string, patch: KsUserPatch): Promise<KsUser> {
    return this.#call('PATCH', `/users/${enc(siteUserId)}`, [siteUserId], { body: patch });
  }

  async deleteUser(siteUserId: string): Promise<void> {
    await this.#call('DELETE', `/users/${enc(siteUserId)}`, [siteUserId]);
  }

  /** The body key is `state`; `subscription_state` is refused with 1101 (domain.md §1.4). */
  setUserSubscription(siteUserId: string, state: KsSubscriptionState): Promise<KsUser> {
    return this.#call('PATCH', `/users/${enc(siteUserId)}/subscription`, [siteUserId], { body: { state } });
  }

  async userKeys(siteUserId: string): Promise<KsKey[]> {
    return collect(followNextPageLinks(this.#http, `${this.#site}/users/${enc(siteUserId)}/keys`));
  }

  // --- tags, IQs, locks -------------------------------------------------------------------------

  tags(opts: ListOptions = {}): AsyncGenerator<KsTag> {
    return followNextPageLinks<KsTag>(this.#http, `${this.#site}/tags`, listQuery(opts));
  }

  getTag(tagId: string): Promise<KsTag> {
    return this.#call('GET', `/tags/${enc(tagId)}`, [tagId]);
  }

  /**
   * Registers a tag Gatehouse enrolled at its own hubs or encoder. Real KS registers tags only
   * through a lock's tag registration; the mock's POST /tags stands in for that (docs/ks-cloud-mock.md).
   */
  async createTag(body: KsTagCreate): Promise<KsTag> {
    const tag = await this.#call<KsTag>('POST', '/tags', body.user_id ? [body.user_id] : [], { body });
    this.#markFresh(tag.id);
    return tag;
  }

  /** createTag that never makes a second tag when an answer is lost; the tag is recognised by tag_number (unique in a site). */
  async createTagOnce(body: KsTagCreate, opts: { adoptExisting: boolean }): Promise<{ tag: KsTag; outcome: CreateOutcome }> {
    const { record, outcome } = await createOnce<KsTag>(
      {
        create: () => this.createTag(body),
        find: () => collect(this.tags({ filter: eq('tag_number', body.tag_number) })),
        idOf: (t) => t.id,
        adoptExisting: opts.adoptExisting,
      },
      this.#http.retry,
    );
    if (outcome !== 'created') this.#markFresh(record.id);
    return { tag: record, outcome };
  }

  updateTag(tagId: string, patch: KsTagPatch): Promise<KsTag> {
    return this.#call('PATCH', `/tags/${enc(tagId)}`, patch.user_id ? [tagId, patch.user_id] : [tagId], { body: patch });
  }

  async deleteTag(tagId: string): Promise<void> {
    await this.#call('DELETE', `/tags/${enc(tagId)}`, [tagId]);
  }

  iqs(opts: ListOptions = {}): AsyncGenerator<KsIq> {
    return followNextPageLinks<KsIq>(this.#http, `${this.#site}/iqs`, listQuery(opts));
  }

  getIq(iqId: string): Promise<KsIq> {
    return this.#call('GET', `/iqs/${enc(iqId)}`, [iqId]);
  }

  /**
   * Registers an IQ: with the documented `activation_code` (it is then activated in the KS app), or
   * with the `mac` of an IQ Gatehouse commissioned itself.
   */
  async addIq(body: KsIqCreate): Promise<KsIq> {
    const iq = await this.#call<KsIq>('POST', '/iqs', [], { body });
    this.#markFresh(iq.id);
    return iq;
  }

  /** addIq that never registers an IQ twice when an answer is lost; the IQ is recognised by its MAC. */
  async addIqOnce(body: KsIqCreate & { mac: string }, opts: { adoptExisting: boolean }): Promise<{ iq: KsIq; outcome: CreateOutcome }> {
    const { record, outcome } = await createOnce<KsIq>(
      {
        create: () => this.addIq(body),
        find: () => collect(this.iqs({ filter: eq('mac', body.mac) })),
        idOf: (q) => q.id,
        adoptExisting: opts.adoptExisting,
      },
      this.#http.retry,
    );
    if (outcome !== 'created') this.#markFresh(record.id);
    return { iq: record, outcome };
  }

  updateIq(iqId: string, patch: KsIqPatch): Promise<KsIq> {
    return this.#call('PATCH', `/iqs/${enc(iqId)}`, [iqId], { body: patch });
  }

  /** KS refuses (400 2209, delete-IQ prerequisites not met) while a lock is still attached. */
  async deleteIq(iqId: string): Promise<void> {
    await this.#call('DELETE', `/iqs/${enc(iqId)}`, [iqId]);
  }

  locks(opts: ListOptions = {}): AsyncGenerator<KsLock> {
    return followNextPageLinks<KsLock>(this.#http, `${this.#site}/locks`, listQuery(opts));
  }

  getLock(lockId: string): Promise<KsLock> {
    return this.#call('GET', `/locks/${enc(lockId)}`, [lockId]);
  }

  /**
   * Remote opening. The OTP (from the IQ's secret and the admin's PIN, valid 3 minutes) is required:
   * without a valid one KS answers 404 2202 "Otp is invalid", which is final, never retried, since
   * repeated bad OTPs lock the account's OTP for a while (domain.md §1.3).
   */
  async openLock(lockId: string, otp: string): Promise<void> {
    await this.#call('PATCH', `/locks/${enc(lockId)}/locking`, [], { body: { locked_state: 'unlocked', otp } });
  }

  /** Removing a lock is a hardware change and needs the OTP too; KS documents no body for DELETE, so it travels as `?otp=`. */
  async removeLock(lockId: string, otp: string): Promise<void> {
    await this.#call('DELETE', `/locks/${enc(lockId)}`, [], { query: { otp } });
  }

  /**
   * Adds a lock (Clay's provisioning flow, domain.md §1.4 b). A hardware change, so it carries the OTP;
   * like every OTP call its 2202 is never retried (a bad OTP, asked again, locks the account's OTP).
   */
  async createLock(body: KsLockCreate): Promise<KsLock> {
    const lock = await this.#call<KsLock>('POST', '/locks', [], { body });
    this.#markFresh(lock.id);
    return lock;
  }

  /**
   * createLock that never adds a lock twice when an answer is lost; the lock is recognised by its
   * customer_reference and its IQ together (compared here: a lock without an IQ has no `iq/id` to filter on).
   */
  async createLockOnce(body: KsLockCreate, opts: { adoptExisting: boolean }): Promise<{ lock: KsLock; outcome: CreateOutcome }> {
    const { record, outcome } = await createOnce<KsLock>(
      {
        create: () => this.createLock(body),
        find: async () => (await collect(this.locks({ filter: eq('customer_reference', body.customer_reference) }))).filter((l) => (l.iq?.id ?? null) === body.iq_id),
        idOf: (l) => l.id,
        adoptExisting: opts.adoptExisting,
      },
      this.#http.retry,
    );
    if (outcome !== 'created') this.#markFresh(record.id);
    return { lock: record, outcome };
  }

  /** Renames a lock or moves it to another IQ (or off one); the OTP is needed only for the move. */
  updateLock(lockId: string, patch: KsLockPatch): Promise<KsLock> {
    return this.#call('PATCH', `/locks/${enc(lockId)}`, patch.otp === undefined ? [lockId] : [], { body: patch });
  }

  /** PUT /locks/{id}/easy_office_mode_schedule (domain.md §1.4 b): replaces the whole schedule. */
  setEasyOfficeModeSchedule(lockId: string, schedule: KsEasyOfficeModeSchedule): Promise<KsEasyOfficeModeSchedule> {
    return this.#call('PUT', `/locks/${enc(lockId)}/easy_office_mode_schedule`, [lockId], { body: schedule });
  }

  async clearEasyOfficeModeSchedule(lockId: string): Promise<void> {
    await this.#call('DELETE', `/locks/${enc(lockId)}/easy_office_mode_schedule`, [lockId]);
  }

  // --- access groups ----------------------------------------------------------------------------

  accessGroups(opts: ListOptions = {}): AsyncGenerator<KsAccessGroup> {
    return followNextPageLinks<KsAccessGroup>(this.#http, `${this.#site}/access_groups`, listQuery(opts));
  }

  getAccessGroup(groupId: string): Promise<KsAccessGroup> {
    return this.#call('GET', `/access_groups/${enc(groupId)}`, [groupId]);
  }

  async createAccessGroup(customerReference: string): Promise<KsAccessGroup> {
    const group = await this.#call<KsAccessGroup>('POST', '/access_groups', [], { body: { customer_reference: customerReference } });
    this.#markFresh(group.id);
    return group;
  }

  /** createAccessGroup that never makes a second group when an answer is lost; the group is recognised by customer_reference. */
  async createAccessGroupOnce(customerReference: string, opts: { adoptExisting: boolean }): Promise<{ group: KsAccessGroup; outcome: CreateOutcome }> {
    const { record, outcome } = await createOnce<KsAccessGroup>(
      {
        create: () => this.createAccessGroup(customerReference),
        find: () => collect(this.accessGroups({ filter: eq('customer_reference', customerReference) })),
        idOf: (g) => g.id,
        adoptExisting: opts.adoptExisting,
      },
      this.#http.retry,
    );
    if (outcome !== 'created') this.#markFresh(record.id);
    return { group: record, outcome };
  }

  updateAccessGroup(groupId: string, patch: { customer_reference: string }): Promise<KsAccessGroup> {
    return this.#call('PATCH', `/access_groups/${enc(groupId)}`, [groupId], { body: patch });
  }

  async deleteAccessGroup(groupId: string): Promise<void> {
    await this.#call('DELETE', `/access_groups/${enc(groupId)}`, [groupId]);
  }

  accessGroupLocks(groupId: string): AsyncGenerator<KsLock> {
    return followNextPageLinks<KsLock>(this.#http, `${this.#site}/access_groups/${enc(groupId)}/locks`);
  }

  /** Adding the same lock twice is harmless on KS, so a lost answer is simply asked again. */
  async addLockToAccessGroup(groupId: string, lockId: string): Promise<void> {
    await this.#call('POST', `/access_groups/${enc(groupId)}/locks`, [groupId, lockId], { body: { lock_id: lockId }, replayable: true });
  }

  async removeLockFromAccessGroup(groupId: string, lockId: string): Promise<void> {
    await this.#call('DELETE', `/access_groups/${enc(groupId)}/locks/${enc(lockId)}`, [groupId, lockId]);
  }

  accessGroupUsers(groupId: string): AsyncGenerator<KsUser> {
    return followNextPageLinks<KsUser>(this.#http, `${this.#site}/access_groups/${enc(groupId)}/users`);
  }

  /** Membership takes the PLATFORM user id (`user.id`); the site-user id gives 404 2202 (domain.md §1.4). */
  async addUserToAccessGroup(groupId: string, platformUserId: string): Promise<void> {
    await this.#call('POST', `/access_groups/${enc(groupId)}/users`, [groupId, platformUserId], { body: { user_id: platformUserId }, replayable: true });
  }

  async removeUserFromAccessGroup(groupId: string, platformUserId: string): Promise<void> {
    await this.#call('DELETE', `/access_groups/${enc(groupId)}/users/${enc(platformUserId)}`, [groupId, platformUserId]);
  }

  timeSchedules(groupId: string): AsyncGenerator<KsTimeSchedule> {
    return followNextPageLinks<KsTimeSchedule>(this.#http, `${this.#site}/access_groups/${enc(groupId)}/time_schedules`);
  }

  createTimeSchedule(groupId: string, schedule: KsTimeScheduleInput): Promise<KsTimeSchedule> {
    return this.#call('POST', `/access_groups/${enc(groupId)}/time_schedules`, [groupId], { body: schedule });
  }

  updateTimeSchedule(groupId: string, scheduleId: string, patch: Partial<KsTimeScheduleInput>): Promise<KsTimeSchedule> {
    return this.#call('PATCH', `/access_groups/${enc(groupId)}/time_schedules/${enc(scheduleId)}`, [groupId], { body: patch });
  }

  async deleteTimeSchedule(groupId: string, scheduleId: string): Promise<void> {
    await this.#call('DELETE', `/access_groups/${enc(groupId)}/time_schedules/${enc(scheduleId)}`, [groupId]);
  }

  // --- entries and incidents --------------------------------------------------------------------

  /** Entries, paged by continuation token; `filter` typically bounds utc_date_time with ge/le. */
  entries(opts: ListOptions = {}): AsyncGenerator<KsEntry> {
    return followContinuationTokens<KsEntry>(this.#http, `${this.#site}/entries`, listQuery(opts));
  }

  incidents(opts: ListOptions = {}): AsyncGenerator<KsIncident> {
    return followContinuationTokens<KsIncident>(this.#http, `${this.#site}/incidents`, listQuery(opts));
  }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

