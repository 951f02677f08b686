// English and Dutch. Each screen keeps its texts in messages/<area>.ts ({ en, nl }); the file name is
// the namespace (t('people.title')). The operator's choice is remembered on this computer; dates and
// times are shown in the site's time zone (or a lock's) and the operator's locale.
import { createI18n } from 'vue-i18n';

export type Locale = 'en' | 'nl';
export const LOCALES: Locale[] = ['en', 'nl'];

type Tree = { [key: string]: string | Tree };
const areas = import.meta.glob<{ default: { en: Tree; nl: Tree } }>('./messages/*.ts', { eager: true });
const messages: Record<Locale, Tree> = { en: {}, nl: {} };
for (const [path, mod] of Object.entries(areas)) {
  const area = path.replace(/^.*\/(.+)\.ts$/, '$1');
  messages.en[area] = mod.default.en;
  messages.nl[area] = mod.default.nl;
}

function initialLocale(): Locale {
  const saved = localStorage.getItem('gh.locale');
  if (saved === 'en' || saved === 'nl') return saved;
  return navigator.language.toLowerCase().startsWith('nl') ? 'nl' : 'en';
}

export const i18n = createI18n({ legacy: false, locale: initialLocale(), fallbackLocale: 'en', messages });

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem('gh.locale', locale);
  document.documentElement.lang = locale;
}
