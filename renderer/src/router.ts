// Screens and who may see them. The permission here only hides what the core would refuse anyway.
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import type { Permission } from '../../core/contract/index.ts';
import { useSession } from './stores/session.ts';

declare module 'vue-router' {
  interface RouteMeta {
    permission?: Permission;
    public?: boolean;
    /** i18n key of the menu label; routes without one are not in the menu. */
    nav?: string;
  }
}

export const routes: RouteRecordRaw[] = [
  { path: '/sign-in', name: 'sign-in', component: () => import('./views/SignIn.vue'), meta: { public: true } },
  { path: '/', name: 'dashboard', component: () => import('./views/Dashboard.vue'), meta: { permission: 'site.read', nav: 'nav.dashboard' } },
  { path: '/monitor', name: 'monitor', component: () => import('./views/Monitor.vue'), meta: { permission: 'hardware.read', nav: 'monitor.nav' } },
  { path: '/doors', name: 'doors', component: () => import('./views/Doors.vue'), meta: { permission: 'hardware.read', nav: 'nav.doors' } },
  { path: '/iqs', name: 'iqs', component: () => import('./views/Iqs.vue'), meta: { permission: 'hardware.read', nav: 'nav.iqs' } },
  { path: '/hubs', name: 'hubs', component: () => import('./views/Hubs.vue'), meta: { permission: 'hardware.read', nav: 'hubs.nav' } },
  { path: '/hubs/commission', name: 'commission', component: () => import('./views/HubCommission.vue'), meta: { permission: 'hardware.write' } },
  { path: '/people', name: 'people', component: () => import('./views/People.vue'), meta: { permission: 'people.read', nav: 'nav.people' } },
  { path: '/people/:id', name: 'person', component: () => import('./views/Person.vue'), meta: { permission: 'people.read' } },
  { path: '/tags', name: 'tags', component: () => import('./views/Tags.vue'), meta: { permission: 'people.read', nav: 'nav.tags' } },
  { path: '/encoders', name: 'encoders', component: () => import('./views/EncoderStation.vue'), meta: { permission: 'people.read', nav: 'encoders.nav' } },
  { path: '/groups', name: 'groups', component: () => import('./views/AccessGroups.vue'), meta: { permission: 'access.read', nav: 'nav.groups' } },
  { path: '/groups/:id', name: 'group', component: () => import('./views/AccessGroup.vue'), meta: { permission: 'access.read' } },
  { path: '/calendars', name: 'calendars', component: () => import('./views/HolidayCalendars.vue'), meta: { permission: 'access.read', nav: 'nav.calendars' } },
  { path: '/audit', name: 'audit', component: () => import('./views/AuditTrail.vue'), meta: { permission: 'audit.read', nav: 'nav.audit' } },
  { path: '/incidents', name: 'incidents', component: () => import('./views/Incidents.vue'), meta: { permission: 'audit.read', nav: 'nav.incidents' } },
  { path: '/insights', name: 'insights', component: () => import('./views/Insights.vue'), meta: { permission: 'audit.read', nav: 'nav.insights' } },
  { path: '/operators', name: 'operators', component: () => import('./views/Operators.vue'), meta: { permission: 'operators.manage', nav: 'nav.operators' } },
  { path: '/cloud', name: 'cloud', component: () => import('./views/CloudSync.vue'), meta: { permission: 'site.read', nav: 'cloud.nav' } },
  { path: '/settings', name: 'settings', component: () => import('./views/Settings.vue'), meta: { permission: 'site.read', nav: 'nav.settings' } },
  { path: '/:rest(.*)*', redirect: '/' },
];

export const router = createRouter({ history: createWebHashHistory(), routes });

let restored = false;
router.beforeEach(async (to) => {
  const session = useSession();
  if (!restored) {
    restored = true;
    await session.restore();
  }
  if (to.meta.public) return session.signedIn && to.name === 'sign-in' ? { name: 'dashboard' } : true;
  if (!session.signedIn) return { name: 'sign-in', query: to.fullPath !== '/' ? { next: to.fullPath } : {} };
  if (to.meta.permission && !session.can(to.meta.permission)) return { name: 'dashboard' };
  return true;
});
