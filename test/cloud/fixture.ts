// A site and the mock KS cloud wired through the real client and port, for the sync tests and the
// benchmark: what both sides hold, compared in one projection.
import { ksCloudPort } from '../../bin/cloud-port.ts';
import { setCloudSyncEnabled } from '../../core/cloud/outbox.ts';
import { cloudFields, completed } from '../../core/cloud/records.ts';
import { CloudSync, type CloudSyncOptions } from '../../core/cloud/sync-engine.ts';
import type { CloudKind, Fields } from '../../core/domain/cloud.ts';
import { CLOUD_KINDS } from '../../core/domain/cloud.ts';
import type { GatehouseService } from '../../core/service/service.ts';
import { linkByCloudId, linkByCloudUserId, linkByLocalId } from '../../core/store/repos/cloud.ts';
import { stmt, type ReadDb } from '../../core/store/db.ts';
import { computeOtp, type KsConnectClient, type RetryPolicy } from '../../drivers/ks-connect/index.ts';
import type { CloudPort } from '../../core/cloud/port.ts';
import type { KsCloud } from '../ks-cloud/server.ts';
import { signedInClient, type MockAccount, type SignedInOptions } from '../ks-cloud/signed-in.ts';

/** Backoff waits shortened (the mock's settle time is short too), so a fault costs milliseconds. */
export const FAST_RETRY: Partial<RetryPolicy> = { sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 15))), baseDelayMs: 5, settleDelayMs: 10 };

/** The mock's account and the IQ secret and PIN its one-time codes are made from (a KsCloud has both). */
export type MockWithOtp = MockAccount & { site: { otpSecret: string; otpPin: string } };

/** The sync engine's port over a client signed in to the mock, with the IQ's one-time codes. */
export async function cloudPort(cloud: MockWithOtp, o: SignedInOptions = {}): Promise<{ port: CloudPort; client: KsConnectClient }> {
  const { client } = await signedInClient(cloud, { retry: FAST_RETRY, timeoutMs: 5_000, settleWindowMs: 5_000, ...o });
  const port = ksCloudPort(client, { otp: () => computeOtp(cloud.site.otpSecret, cloud.site.otpPin, new Date()) });
  return { port, client };
}

export async function syncedSite(service: GatehouseService, cloud: KsCloud, opts: CloudSyncOptions = {}): Promise<{ sync: CloudSync; port: CloudPort }> {
  const { port } = await cloudPort(cloud);
  setCloudSyncEnabled(service.db, true, service.now());
  service.db.transaction((db) => stmt(db, 'UPDATE cloud_sync_state SET cloud_site_id = ?').run(cloud.siteId));
  return { sync: new CloudSync(service, port, opts), port };
}

/** A record in local ids as the cloud holds it (references through the links), or a reason it cannot be. */
function toLocalIds(db: ReadDb, kind: CloudKind, fields: Fields): Fields | string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === null) continue;
    if (kind === 'tag' && k === 'user_id') out[k] = linkByCloudId(db, 'user', v as string)?.local_id ?? `unlinked user ${v as string}`;
    else if (kind === 'lock' && k === 'iq_id') out[k] = linkByCloudId(db, 'iq', v as string)?.local_id ?? `unlinked iq ${v as string}`;
    else if (kind === 'access_group' && k.startsWith('user:')) out[`user:${linkByCloudUserId(db, k.slice(5))?.local_id ?? `unlinked ${k}`}`] = v;
    else if (kind === 'access_group' && k.startsWith('lock:')) out[`lock:${linkByCloudId(db, 'lock', k.slice(5))?.local_id ?? `unlinked ${k}`}`] = v;
    else if (kind === 'access_group' && k.startsWith('time_schedule:')) out[`time_schedule:${linkByCloudId(db, 'time_schedule', k.slice(14))?.local_id ?? `unlinked ${k}`}`] = v;
    else out[k] = v;
  }
  return completed(kind, out as Fields);
}

/**
 * Both sides as `kind:local id → fields`, in local ids. A cloud record with no link shows up under
 * `cloud-only:`, a local one under its id with `missing in cloud`: converged means the two maps are equal.
 */
export async function bothSides(service: GatehouseService, port: CloudPort): Promise<{ local: Record<string, unknown>; cloud: Record<string, unknown> }> {
  const db = service.db.read;
  const local: Record<string, unknown> = {};
  const cloud: Record<string, unknown> = {};
  const tables: Record<CloudKind, string> = { iq: 'iqs', lock: 'locks', user: 'users', tag: 'tags', access_group: 'access_groups' };
  for (const kind of CLOUD_KINDS) {
    for (const id of stmt(db, `SELECT id FROM ${tables[kind]}`).pluck().all() as string[]) {
      local[`${kind}:${id}`] = linkByLocalId(db, kind, id) ? completed(kind, cloudFields(db, kind, id)!) : 'missing in cloud';
    }
    for await (const rec of port.list(kind)) {
      const link = linkByCloudId(db, kind, rec.cloud_id);
      const key = link ? `${kind}:${link.local_id}` : `cloud-only:${kind}:${rec.cloud_id}`;
      if (key in cloud) cloud[`doubled:${key}:${rec.cloud_id}`] = rec.fields;
      else cloud[key] = toLocalIds(db, kind, rec.fields!);
    }
  }
  return { local, cloud };
}
