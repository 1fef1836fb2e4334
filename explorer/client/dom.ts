/** A small helper to build DOM elements: `h('td', { class: 'epoch', 'data-key': k }, text)`. */

export type Child = Node | string | number | null | undefined | false;

export function h(tag: string, attributes: Readonly<Record<string, string | undefined>> = {}, ...children: readonly Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) element.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'number' ? String(child) : child);
  }
  return element;
}

/** `class` for an item with a stable key: `changed` when its text differs from the step before. */
export function keyed(key: string, changed: ReadonlySet<string>, base = ''): Record<string, string> {
  const classes = [base, changed.has(key) ? 'changed' : ''].filter((c) => c !== '').join(' ');
  return { 'data-key': key, ...(classes === '' ? {} : { class: classes }) };
}
