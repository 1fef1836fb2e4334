/** Inline text and ID links of the protocol site, shared by its pages. */
import { escapeHtml, linkTo } from './layout.js';
import { linkIds, type IdRegistry } from './markdown.js';

/** Escapes text, turns `code` spans into <code> and every known ID into a link. */
export function inlineText(text: string, page: string, ids: IdRegistry): string {
  const html = escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
  return linkIds(html, page, ids);
}

/** A link to where `id` is defined, or the bare ID when it is unknown. */
export function idLink(page: string, id: string, ids: IdRegistry): string {
  const target = ids.get(id);
  if (target === undefined) return `<code>${escapeHtml(id)}</code>`;
  return `<a class="id-link" href="${linkTo(page, `${target.page}#${id}`)}" title="${escapeHtml(target.title)}">${escapeHtml(id)}</a>`;
}
