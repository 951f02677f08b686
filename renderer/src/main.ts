import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { installNaiveAriaFixes } from './a11y/naive-aria.ts';
import { i18n } from './i18n/index.ts';
import { router } from './router.ts';

createApp(App).use(createPinia()).use(router).use(i18n).mount('#app');
installNaiveAriaFixes((key) => i18n.global.t(`common.${key}`));
