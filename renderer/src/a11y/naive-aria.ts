// Fills the gaps in Naive UI's ARIA that no prop reaches, for every screen at once (axe-core finds
// them; test/e2e/accessibility.test.ts keeps them found):
// - card headers are role="heading" without a level (and nested twice): one heading of level 2;
// - the selection checkboxes of data tables point aria-labelledby at a label that is not there;
// - a select's inner search input has no name of its own: it takes the select's;
// - a number input's − and + buttons (out of the tab order; the arrow keys do the same) have no name;
// - a form item's label is not tied to its input: the label gets `for` (and the input an id if it has
//   none), so the name follows the label's text in every language.
// Only nodes added to the page are looked at, so a big table costs one pass over its new rows.
type Label = (key: 'selectAllRows' | 'selectRow' | 'increase' | 'decrease') => string;

let fieldIds = 0;

function fix(root: Element, label: Label): void {
  for (const el of matching(root, '.n-card-header[role="heading"]')) el.removeAttribute('role');
  for (const el of matching(root, '.n-card-header__main[role="heading"]:not([aria-level])')) el.setAttribute('aria-level', '2');
  for (const el of matching(root, '[role="checkbox"][aria-labelledby]')) {
    const id = el.getAttribute('aria-labelledby')!;
    if (document.getElementById(id)?.textContent?.trim()) continue;
    if (el.closest('.n-data-table-th')) el.setAttribute('aria-label', label('selectAllRows'));
    else if (el.closest('.n-data-table-td')) el.setAttribute('aria-label', label('selectRow'));
    else continue;
    el.removeAttribute('aria-labelledby');
  }
  for (const input of matching(root, 'input.n-base-selection-input:not([aria-label])')) {
    const named = input.closest('[aria-label]')?.getAttribute('aria-label') ?? input.closest('.n-base-selection')?.querySelector('.n-base-selection-placeholder')?.textContent?.trim();
    if (named) input.setAttribute('aria-label', named);
  }
  for (const input of matching(root, '.n-form-item-blank input:not([type="hidden"]), .n-form-item-blank textarea')) {
    if (input.hasAttribute('aria-label') || input.hasAttribute('aria-labelledby') || input.getAttribute('tabindex') === '-1') continue;
    const label = input.closest('.n-form-item')?.querySelector(':scope > label.n-form-item-label');
    if (!label || label.hasAttribute('for')) continue;
    // One control per form item: a second input (a range's end) keeps whatever name it has.
    if (input.closest('.n-form-item')!.querySelectorAll('.n-form-item-blank input:not([type="hidden"]), .n-form-item-blank textarea').length > 1) continue;
    if (!input.id) input.id = `gh-field-${++fieldIds}`;
    label.setAttribute('for', input.id);
  }
  for (const spinner of matching(root, '.n-input-number')) {
    // The + button is always last; with the buttons on the right, − comes just before it.
    const buttons = [...spinner.querySelectorAll('button:not([aria-label])')];
    buttons.at(-1)?.setAttribute('aria-label', label('increase'));
    buttons.at(-2)?.setAttribute('aria-label', label('decrease'));
  }
}

function* matching(root: Element, selector: string): Generator<Element> {
  if (root.matches(selector)) yield root;
  yield* root.querySelectorAll(selector);
}

export function installNaiveAriaFixes(label: Label, target: Element = document.body): () => void {
  fix(target, label);
  const observer = new MutationObserver((records) => {
    for (const r of records) for (const node of r.addedNodes) if (node instanceof Element) fix(node, label);
  });
  observer.observe(target, { childList: true, subtree: true });
  return () => observer.disconnect();
}
