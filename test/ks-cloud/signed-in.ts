// A KS Connect client signed in to the mock cloud with the password grant: what every test of the
// client, the port and the sync engine starts from.
import { KsConnectClient, KsHttp, KsIdentity, MemoryTokenStore, TokenManager, type RetryPolicy } from '../../drivers/ks-connect/index.ts';

/** Where the mock is and its account (a KsCloud, or its parts passed to a child process). */
export interface MockAccount {
  url: string;
  siteId: string;
  auth: { clientId: string; clientSecret?: string; username: string; password: string };
}

export interface SignedInOptions {
  retry?: Partial<RetryPolicy>;
  /** The client's and the tokens' clock (the mock's, when it runs on a test clock). */
  now?: () => number;
  timeoutMs?: number;
  settleWindowMs?: number;
}

export async function signedInClient(cloud: MockAccount, o: SignedInOptions = {}): Promise<{ client: KsConnectClient; tokens: TokenManager; store: MemoryTokenStore; http: KsHttp }> {
  const identity = new KsIdentity({ identityUrl: cloud.url, clientId: cloud.auth.clientId, clientSecret: cloud.auth.clientSecret, now: o.now });
  const store = new MemoryTokenStore();
  const tokens = new TokenManager(identity, store, { skewMs: 0, now: o.now });
  await tokens.signInWithPassword(cloud.auth.username, cloud.auth.password);
  const http = new KsHttp({ baseUrl: cloud.url, tokens, retry: o.retry, now: o.now, timeoutMs: o.timeoutMs });
  return { client: new KsConnectClient({ http, siteId: cloud.siteId, now: o.now, settleWindowMs: o.settleWindowMs }), tokens, store, http };
}
