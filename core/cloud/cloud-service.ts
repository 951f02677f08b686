// The site's connection to a CLP / KS cloud (docs/cloud-sync.md, "Connecting"): signing in, the
// account and its sealed secrets, the sync schedule and "sync now", conflicts and refused changes for
// the admin. How to talk to the cloud is the connector's business (bin/cloud.ts, over the KS Connect
// client); the core keeps what must survive a restart and decides when to sync.
import { GatehouseError } from '../contract/errors.ts';
import type { Actor } from '../service/actor.ts';
import type { GatehouseService } from '../service/service.ts';
import { SecretError, type SecretBox } from '../secrets/secret-box.ts';
import {
  deleteCloudAccount,
  getCloudAccount,
  getSyncState,
  putCloudAccount,
  requeueFailedOutbox,
  pruneOutbox,
  setCloudSite,
  setSealedOtp,
  setSealedTokens,
  setSyncError,
  suspendedUserIds,
  type CloudAccountRow,
} from '../store/repos/cloud.ts';
import { getUser } from '../store/repos/users.ts';
import { setCloudSyncEnabled } from './outbox.ts';
import type { CloudPort } from './port.ts';
import { cloudSyncStatus } from './status.ts';
import { CloudSync } from './sync-engine.ts';
import type { CloudStatus, SyncRoundReport } from './types.ts';

export interface CloudAccountConfig {
  api_url: string;
  identity_url: string;
  client_id: string;
  client_secret: string | null;
  /** The cloud site's UUID. */
  site_id: string;
}

/** Where the sealed OAuth tokens live; the connector reads and rotates them through this. */
export interface TokenSlot {
  load(): string | undefined;
  save(tokens: string): void;
}

export interface OtpSecret {
  secret: string;
  pin: string;
}

export interface BrowserSignIn {
  /** The cloud's sign-in page, to open in the admin's browser. */
  url: string;
  /** Settles with the tokens when the browser comes back to the loopback redirect. */
  tokens: Promise<string>;
  cancel(): void;
}

/** What the composition root provides: sign-in flows and a port for a connected account. */
export interface CloudConnector {
  /** The password grant (headless or test use); resolves to the token set as opaque text. */
  signIn(cfg: CloudAccountConfig, username: string, password: string): Promise<string>;
  /** Authorization code with PKCE and a loopback redirect (the desktop app). */
  browserSignIn(cfg: CloudAccountConfig): Promise<BrowserSignIn>;
  open(cfg: CloudAccountConfig, tokens: TokenSlot, otp: () => OtpSecret | null): { port: CloudPort; site(): Promise<{ id: string; name: string | null }> };
}

export interface CloudServiceOptions {
  /** Between scheduled rounds while connected; 0: only on demand. */
  intervalMs?: number;
  log?: (line: string) => void;
}

/** After a local change, how soon a round follows (changes made together go in one round). */
const SOON_MS = 5_000;
const PURPOSE = { tokens: 'cloud-tokens', secret: 'cloud-client-secret', otp: 'cloud-otp' } as const;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

export class CloudService {
  readonly #service: GatehouseService;
  readonly #connector: CloudConnector;
  readonly #intervalMs: number;
  readonly #log: (line: string) => void;
  #sync: CloudSync | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #nextRoundAt: number | null = null;
  #notifySoon: ReturnType<typeof setTimeout> | null = null;
  #lastRound: SyncRoundReport | null = null;
  #signIn: BrowserSignIn | null = null;
  #closed = false;

  constructor(service: GatehouseService, connector: CloudConnector, opts: CloudServiceOptions = {}) {
    this.#service = service;
    this.#connector = connector;
    this.#intervalMs = opts.intervalMs ?? 5 * 60_000;
    this.#log = opts.log ?? (() => {});
    if (this.#account() && getSyncState(service.db.read).enabled) this.#schedule(1_000);
  }

  #requireBox(): SecretBox {
    const box = this.#service.secrets;
    if (!box) throw new GatehouseError('unavailable', 'Cloud sync needs the installation master key to keep its tokens sealed; this Gatehouse runs without one');
    return box;
  }

  #account(): CloudAccountRow | null {
    return getCloudAccount(this.#service.db.read);
  }

  status(): CloudStatus {
    const db = this.#service.db.read;
    const a = this.#account();
    return {
      ...cloudSyncStatus(db),
      account: a && { api_url: a.api_url, identity_url: a.identity_url, client_id: a.client_id, account: a.account, connected_at: a.connected_at, connected_by: a.connected_by },
      signed_in: a?.sealed_tokens != null,
      otp_configured: a?.sealed_otp != null,
      syncing: this.#sync?.running ?? false,
      signing_in: this.#signIn !== null,
      suspended_users: suspendedUserIds(db).map((id) => {
        const u = getUser(db, id);
        return { id, name: u ? `${u.first_name} ${u.last_name}`.trim() || (u.email ?? id) : id };
      }),
      last_round: this.#lastRound,
    };
  }

  /** Signs in with the password grant, checks the site answers, stores the account and switches sync on. */
  async connect(actor: Actor, cfg: CloudAccountConfig, username: string, password: string): Promise<CloudStatus> {
    this.#requireBox();
    const tokens = await this.#connector.signIn(cfg, username, password).catch((e: unknown) => {
      throw new GatehouseError('validation', `The cloud refused the sign-in: ${(e as Error).message}`);
    });
    return this.#finishConnect(actor, cfg, tokens, username);
  }

  /** Starts the browser sign-in; the connection completes when the browser returns (a `cloud.status` event says so). */
  async connectInBrowser(actor: Actor, cfg: CloudAccountConfig): Promise<{ authorize_url: string }> {
    this.#requireBox();
    this.#signIn?.cancel();
    const flow = await this.#connector.browserSignIn(cfg);
    this.#signIn = flow;
    flow.tokens.then(
      async (tokens) => {
        if (this.#signIn !== flow) return;
        this.#signIn = null;
        try {
          await this.#finishConnect(actor, cfg, tokens, null);
        } catch (e) {
          this.#fail(`browser sign-in: ${(e as Error).message}`);
        }
      },
      (e: unknown) => {
        if (this.#signIn !== flow) return;
        this.#signIn = null;
        this.#fail(`browser sign-in: ${(e as Error).message}`);
      },
    );
    this.#emit();
    return { authorize_url: flow.url };
  }

  async #finishConnect(actor: Actor, cfg: CloudAccountConfig, tokens: string, account: string | null): Promise<CloudStatus> {
    const box = this.#requireBox();
    let held = tokens;
    const slot: TokenSlot = { load: () => held, save: (t) => (held = t) };
    const site = await this.#connector
      .open(cfg, slot, () => null)
      .site()
      .catch((e: unknown) => {
        throw new GatehouseError('validation', `Signed in, but cloud site ${cfg.site_id} does not answer: ${(e as Error).message}`);
      });
    const previous = this.#account();
    this.#service.transact(actor, 'cloud.connect', (ctx) => {
      putCloudAccount(ctx.db, {
        api_url: cfg.api_url,
        identity_url: cfg.identity_url,
        client_id: cfg.client_id,
        account,
        sealed_client_secret: cfg.client_secret === null ? null : box.seal(PURPOSE.secret, enc(cfg.client_secret)),
        sealed_tokens: box.seal(PURPOSE.tokens, enc(held)),
        sealed_otp: previous?.sealed_otp ?? null,
        connected_at: ctx.nowIso,
        connected_by: actor.name,
      });
      setCloudSite(ctx.db, site.id);
      ctx.log({ target_type: 'site', target_id: null, after: { cloud_connected: { api_url: cfg.api_url, site_id: site.id, account } } });
    });
    // Switching on queues every record not yet in the cloud (and what changed while sync was off).
    setCloudSyncEnabled(this.#service.db, true, this.#service.now());
    this.#sync = null;
    this.#log(`Cloud sync connected to ${cfg.api_url} site ${site.id}${site.name ? ` (${site.name})` : ''}`);
    this.#schedule(0);
    this.#emit();
    return this.status();
  }

  /** Switches sync off and forgets the tokens; links and the outbox stay, so connecting again resumes. */
  disconnect(actor: Actor): CloudStatus {
    this.#signIn?.cancel();
    this.#signIn = null;
    this.#service.transact(actor, 'cloud.disconnect', (ctx) => {
      deleteCloudAccount(ctx.db);
      ctx.log({ target_type: 'site', target_id: null, after: { cloud_disconnected: true } });
    });
    setCloudSyncEnabled(this.#service.db, false, this.#service.now());
    this.#stopTimer();
    this.#sync = null;
    this.#emit();
    return this.status();
  }

  setOtp(actor: Actor, otp: OtpSecret | null): CloudStatus {
    const box = this.#requireBox();
    if (!this.#account()) throw new GatehouseError('conflict', 'Connect to the cloud first');
    this.#service.transact(actor, 'cloud.set_otp', (ctx) => {
      setSealedOtp(ctx.db, otp === null ? null : box.seal(PURPOSE.otp, enc(JSON.stringify(otp))));
      ctx.log({ target_type: 'site', target_id: null, after: { cloud_otp: otp === null ? 'cleared' : 'set' } });
    });
    this.#emit();
    return this.status();
  }

  /** One round now (or the one under way). */
  async syncNow(): Promise<SyncRoundReport> {
    const engine = this.#engine();
    this.#emit();
    const report = await engine.sync();
    this.#lastRound = report;
    if (report.error) this.#log(`[warn] cloud sync: ${report.error}`);
    // Sent changes are history after a week: the outbox stays small however long the site runs.
    this.#service.db.transaction((db) => pruneOutbox(db, new Date(this.#service.now() - 7 * 86_400_000).toISOString()));
    this.#emit();
    return report;
  }

  /**
   * A command queued changes for the cloud: the status shows them at once, and while connected a
   * round follows within a few seconds instead of at the next scheduled one.
   */
  localChanges(): void {
    if (this.#closed) return;
    this.#notifySoon ??= setTimeout(() => {
      this.#notifySoon = null;
      if (!this.#closed) this.#emit();
    }, 250);
    this.#notifySoon.unref?.();
    if (this.#intervalMs > 0 && this.#account() && (this.#nextRoundAt === null || this.#nextRoundAt > Date.now() + SOON_MS)) this.#schedule(SOON_MS);
  }

  retryFailed(actor: Actor): number {
    return this.#service.transact(actor, 'cloud.failed.retry', (ctx) => {
      const n = requeueFailedOutbox(ctx.db);
      ctx.log({ target_type: 'site', target_id: null, after: { cloud_changes_requeued: n } });
      ctx.afterCommit(() => this.localChanges());
      return n;
    });
  }

  close(): void {
    this.#closed = true;
    this.#stopTimer();
    if (this.#notifySoon) clearTimeout(this.#notifySoon);
    this.#signIn?.cancel();
    this.#signIn = null;
  }

  #engine(): CloudSync {
    const a = this.#account();
    if (!a || !getSyncState(this.#service.db.read).enabled) throw new GatehouseError('conflict', 'Cloud sync is not connected: connect to a cloud site first');
    if (a.sealed_tokens === null) throw new GatehouseError('unavailable', 'Signed out of the cloud: sign in again');
    if (this.#sync) return this.#sync;
    const box = this.#requireBox();
    const db = this.#service.db;
    try {
      box.open(PURPOSE.tokens, a.sealed_tokens);
      if (a.sealed_client_secret) box.open(PURPOSE.secret, a.sealed_client_secret);
    } catch (e) {
      if (!(e instanceof SecretError)) throw e;
      // A database moved or restored without its master.key: the tokens are lost, not the site.
      throw new GatehouseError('unavailable', `The cloud sign-in stored here cannot be opened (${e.message}); connect to the cloud again`);
    }
    const cfg: CloudAccountConfig = {
      api_url: a.api_url,
      identity_url: a.identity_url,
      client_id: a.client_id,
      client_secret: a.sealed_client_secret ? dec(box.open(PURPOSE.secret, a.sealed_client_secret)) : null,
      site_id: getSyncState(db.read).cloud_site_id ?? '',
    };
    const slot: TokenSlot = {
      load: () => {
        const sealed = this.#account()?.sealed_tokens;
        return sealed ? dec(box.open(PURPOSE.tokens, sealed)) : undefined;
      },
      // Rotated tokens are on disk before they are used: a refresh token is single use.
      save: (t) => db.transaction((w) => setSealedTokens(w, box.seal(PURPOSE.tokens, enc(t)))),
    };
    const otp = () => {
      const sealed = this.#account()?.sealed_otp;
      return sealed ? (JSON.parse(dec(box.open(PURPOSE.otp, sealed))) as OtpSecret) : null;
    };
    this.#sync = new CloudSync(this.#service, this.#connector.open(cfg, slot, otp).port);
    return this.#sync;
  }

  #schedule(delayMs: number): void {
    this.#stopTimer();
    if (this.#closed || (this.#intervalMs === 0 && delayMs !== 0)) return;
    this.#nextRoundAt = Date.now() + delayMs;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#nextRoundAt = null;
      if (this.#closed) return;
      this.syncNow()
        .catch((e: unknown) => this.#log(`[warn] cloud sync: ${(e as Error).message}`))
        .finally(() => {
          if (!this.#closed && this.#intervalMs > 0 && this.#account()) this.#schedule(this.#intervalMs);
        });
    }, delayMs);
    this.#timer.unref?.();
  }

  #stopTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#nextRoundAt = null;
  }

  #fail(message: string): void {
    this.#log(`[warn] cloud sync: ${message}`);
    this.#service.db.transaction((db) => setSyncError(db, message, new Date(this.#service.now()).toISOString()));
    this.#emit();
  }

  #emit(): void {
    this.#service.emit('cloud.status', this.status());
  }
}
