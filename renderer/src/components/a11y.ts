// Naive's date picker does not pass attributes to its <input>: this directive gives that input an
// accessible name (v-input-label="t('…')"), so every control has a label.
import type { Directive } from 'vue';

function apply(el: HTMLElement, label: string | undefined) {
  for (const input of el.querySelectorAll('input')) {
    if (label) input.setAttribute('aria-label', label);
  }
}

export const vInputLabel: Directive<HTMLElement, string | undefined> = {
  mounted: (el, b) => apply(el, b.value),
  updated: (el, b) => apply(el, b.value),
};
