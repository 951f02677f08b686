// The cloud connector (core/cloud/cloud-service.ts's CloudConnector) over the KS Connect client:
// sign-in by password grant or by the browser (code + PKCE, loopback redirect), and a sync port for a
// connected account whose tokens the core keeps sealed. Composition root: the only place that knows
// both the core's port and the driver.
import { randomBytes } from 'node:crypto';
import type { BrowserSignIn, CloudAccountConfig, CloudConnector, OtpSecret, TokenSlot } from '../core/cloud/cloud-service.ts';
import {
  authorizeUrl,
  computeOtp,
  createPkcePair,
  KsConnectClient,
  KsHttp,
  KsIdentity,
  listenForLoopbackRedirect,
  TokenManager,
  type RetryPolicy,
  type TokenSet,
  type TokenStore,
} from '../drivers/ks-connect/index.ts';
import { ksCloudPort } from './cloud-port.ts';

export interface KsConnectorOptions {
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  now?: () => number;
  /** How long a browser sign-in waits for the redirect. */
  signInTimeoutMs?: number;
}

const identityOf = (cfg: CloudAccountConfig) =>
  new KsIdentity({ identityUrl: cfg.identity_url, clientId: cfg.client_id, ...(cfg.client_secret !== null ? { clientSecret: cfg.client_secret } : {}) });

/** The core's sealed slot as the client's token store (tokens travel as JSON text). */
function slotStore(slot: TokenSlot): TokenStore {
  return {
    load: async () => {
      const text = slot.load();
      return text === undefined ? undefined : (JSON.parse(text) as TokenSet);
    },
    save: async (tokens) => slot.save(JSON.stringify(tokens)),
  };
}

export function ksConnector(o: KsConnectorOptions = {}): CloudConnector {
  return {
    async signIn(cfg, username, password) {
      return JSON.stringify(await identityOf(cfg).passwordGrant(username, password));
    },

    async browserSignIn(cfg): Promise<BrowserSignIn> {
      const identity = identityOf(cfg);
      const state = randomBytes(16).toString('base64url');
      const pkce = createPkcePair();
      const redirect = await listenForLoopbackRedirect(state, o.signInTimeoutMs);
      const url = authorizeUrl({ identityUrl: cfg.identity_url, clientId: cfg.client_id, redirectUri: redirect.redirectUri, challenge: pkce.challenge, state, scope: identity.scope });
      const tokens = redirect.code
        .then((code) => identity.exchangeCode(code, redirect.redirectUri, pkce.verifier))
        .then((t) => JSON.stringify(t))
        .finally(() => void redirect.close());
      return { url, tokens, cancel: () => void redirect.close() };
    },

    open(cfg, slot, otp: () => OtpSecret | null) {
      const tokens = new TokenManager(identityOf(cfg), slotStore(slot), { now: o.now });
      const http = new KsHttp({ baseUrl: cfg.api_url, tokens, retry: o.retry, timeoutMs: o.timeoutMs, now: o.now });
      const client = new KsConnectClient({ http, siteId: cfg.site_id, now: o.now });
      const code = () => {
        const s = otp();
        return s ? computeOtp(s.secret, s.pin, new Date((o.now ?? Date.now)())) : null;
      };
      return {
        port: ksCloudPort(client, { otp: code }),
        async site() {
          const site = await client.site();
          return { id: site.id, name: site.customer_reference ?? null };
        },
      };
    },
  };
}
