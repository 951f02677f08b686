// The signed-in operator: token, identity and permissions, the site (for its name and time zone),
// and sign-out after inactivity. A thin adapter over the contract: no rule lives here.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Me, Permission, Preferences, SiteSummary } from '../../../core/contract/index.ts';
import { client } from '../client/contract-client.ts';

const TOKEN_KEY = 'gh.session';
const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;

export const useSession = defineStore('session', () => {
  const token = ref<string | null>(null);
  const me = ref<Me | null>(null);
  const site = ref<SiteSummary | null>(null);
  const preferences = ref<Preferences>({ auto_sign_out_minutes: 10 });
  /** Why the last session ended, for the sign-in screen. */
  const endedBecause = ref<'inactive' | 'lost' | null>(null);
  let lastActivity = Date.now();
  let idleTimer: ReturnType<typeof setInterval> | null = null;

  const signedIn = computed(() => me.value !== null);
  const zone = computed(() => site.value?.time_zone ?? 'UTC');
  const can = (p: Permission) => me.value?.permissions.includes(p) ?? false;

  async function load(): Promise<void> {
    me.value = await client.call('auth.me', {});
    site.value = await client.call('site.get', {});
    preferences.value = await client.call('preferences.get', {});
    watchActivity();
  }

  async function signIn(username: string, password: string): Promise<void> {
    const session = await client.call('auth.login', { username, password });
    start(session.token);
    sessionStorage.setItem(TOKEN_KEY, session.token);
    endedBecause.value = null;
    await load();
  }

  function start(t: string): void {
    token.value = t;
    client.setToken(t);
  }

  /** Picks up the session of this tab after a reload. */
  async function restore(): Promise<boolean> {
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (!saved) return false;
    start(saved);
    try {
      await load();
      return true;
    } catch {
      clear();
      return false;
    }
  }

  async function signOut(reason: 'inactive' | 'lost' | null = null): Promise<void> {
    if (token.value && reason !== 'lost') await client.call('auth.logout', {}).catch(() => undefined);
    endedBecause.value = reason;
    clear();
  }

  function clear(): void {
    token.value = null;
    me.value = null;
    site.value = null;
    client.setToken(null);
    sessionStorage.removeItem(TOKEN_KEY);
    stopWatching();
  }

  function touch(): void {
    lastActivity = Date.now();
  }

  function watchActivity(): void {
    stopWatching();
    touch();
    for (const e of ACTIVITY_EVENTS) window.addEventListener(e, touch, { passive: true });
    idleTimer = setInterval(() => {
      if (Date.now() - lastActivity > preferences.value.auto_sign_out_minutes * 60_000) void signOut('inactive');
    }, 5_000);
  }

  function stopWatching(): void {
    for (const e of ACTIVITY_EVENTS) window.removeEventListener(e, touch);
    if (idleTimer) clearInterval(idleTimer);
    idleTimer = null;
  }

  async function refreshSite(): Promise<void> {
    site.value = await client.call('site.get', {});
    preferences.value = await client.call('preferences.get', {});
  }

  client.onSessionLost = () => void signOut('lost');

  return { token, me, site, preferences, endedBecause, signedIn, zone, can, signIn, restore, signOut, refreshSite };
});
