/**
 * Markdown to HTML for the site (marked, GFM), with the project's IDs made into anchors
 * and links: the defining occurrence of a requirement (`- **REQ-...**`), a property (the
 * first table row of its definition) and a decision (`## DEC-NN ...`) gets `id="<ID>"`;
 * every other mention of a known ID links to its definition. Links between spec files are
 * rewritten to the generated pages.
 */
import { Marked, type Tokens } from 'marked';
import { escapeHtml, linkTo } from './layout.js';

export type IdKind = 'requirement' | 'property' | 'decision';

export interface IdTarget {
  readonly kind: IdKind;
  /** The site page that defines the ID (the anchor is the ID itself). */
  readonly page: string;
  readonly title: string;
}

/** Every ID the site anchors, with the page that defines it. */
export type IdRegistry = ReadonlyMap<string, IdTarget>;

export const idPattern = /\b(?:REQ-[A-Z]+-\d{3}|(?:INV|LIVE)-[A-Z]+(?:-[A-Z]+)*|DEC-\d{2})\b/g;

export interface RenderedMarkdown {
  readonly html: string;
  /** The first `#` heading's text, if any. */
  readonly title: string | null;
  /** Level-2 headings with their anchors, for a table of contents. */
  readonly sections: ReadonlyArray<{ readonly id: string; readonly text: string }>;
}

export interface MarkdownOptions {
  readonly page: string;
  readonly ids: IdRegistry;
  /** Rewrites a relative link target (`02-sessions-and-epochs.md`) to a site path, or returns null to keep it. */
  readonly rewriteLink?: (href: string) => string | null;
}

export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/<[^>]*>/g, '')
    .replace(/&[a-z#0-9]+;/g, '')
    .replace(/[^a-z0-9 _-]/g, '')
    .trim()
    .replace(/\s+/g, '-');
}

function stripTags(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * Links every known ID in the text of `html` (not inside links, `<pre>` or tags) to its
 * definition, as seen from `page`.
 */
export function linkIds(html: string, page: string, ids: IdRegistry): string {
  let insideLink = 0;
  let insidePre = 0;
  return html
    .split(/(<[^>]+>)/)
    .map((part) => {
      if (part.startsWith('<')) {
        if (/^<a[\s>]/i.test(part)) insideLink++;
        else if (/^<\/a>/i.test(part)) insideLink = Math.max(0, insideLink - 1);
        else if (/^<pre[\s>]/i.test(part)) insidePre++;
        else if (/^<\/pre>/i.test(part)) insidePre = Math.max(0, insidePre - 1);
        return part;
      }
      if (insideLink > 0 || insidePre > 0) return part;
      return part.replace(idPattern, (id) => {
        const target = ids.get(id);
        if (target === undefined) return id;
        return `<a class="id-link" href="${linkTo(page, `${target.page}#${id}`)}" title="${escapeHtml(target.title)}">${id}</a>`;
      });
    })
    .join('');
}

/** Gives the defining occurrences of the IDs defined on `page` their anchors. */
function anchorDefinitions(html: string, page: string, ids: IdRegistry): string {
  const defined = new Set<string>();
  const definesHere = (id: string): boolean => ids.get(id)?.page === page && !defined.has(id);
  const selfLink = (id: string): string => `<a class="id-anchor" href="#${id}">${id}</a>`;
  // Requirements: a list item that starts with the bold ID.
  let out = html.replace(/<li>(\s*<p>)?<strong>(REQ-[A-Z]+-\d{3})<\/strong>/g, (whole, p: string | undefined, id: string) => {
    if (!definesHere(id)) return whole;
    defined.add(id);
    return `<li id="${id}" class="requirement">${p ?? ''}<strong>${selfLink(id)}</strong>`;
  });
  // Properties: the first table row whose first cell is the ID.
  out = out.replace(/<tr>(\s*)<td>((?:INV|LIVE)-[A-Z-]+)<\/td>/g, (whole, space: string, id: string) => {
    if (!definesHere(id)) return whole;
    defined.add(id);
    return `<tr id="${id}" class="property">${space}<td>${selfLink(id)}</td>`;
  });
  return out;
}

export function renderMarkdown(markdown: string, options: MarkdownOptions): RenderedMarkdown {
  const used = new Map<string, number>();
  const sections: Array<{ id: string; text: string }> = [];
  let title: string | null = null;
  const uniqueId = (base: string): string => {
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  };
  const marked = new Marked({ gfm: true });
  marked.use({
    walkTokens(token) {
      if (token.type === 'link' && options.rewriteLink !== undefined) {
        const link = token as Tokens.Link;
        const rewritten = options.rewriteLink(link.href);
        if (rewritten !== null) link.href = rewritten;
      }
    },
    renderer: {
      heading(token) {
        const inner = this.parser.parseInline(token.tokens);
        const text = stripTags(inner);
        const idMatch = /^((?:REQ-[A-Z]+-\d{3})|(?:DEC-\d{2}))\b/.exec(text);
        const id = uniqueId(idMatch?.[1] ?? (slug(text) || 'section'));
        if (token.depth === 1 && title === null) title = text;
        if (token.depth === 2) sections.push({ id, text });
        return `<h${token.depth} id="${id}">${inner} <a class="heading-anchor" href="#${id}" aria-label="Link to this section">#</a></h${token.depth}>\n`;
      },
    },
  });
  const raw = marked.parse(markdown, { async: false });
  const html = linkIds(anchorDefinitions(raw, options.page, options.ids), options.page, options.ids);
  return { html, title, sections };
}

/**
 * The level-2 sections of a Markdown text, keyed by their heading text (backticks
 * removed): `## \`no-tombstones\`` gives the key `no-tombstones`.
 */
export function markdownSections(markdown: string): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = markdown.split(/^## /m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf('\n');
    const heading = (newline === -1 ? part : part.slice(0, newline)).replace(/`/g, '').trim();
    sections.set(heading, newline === -1 ? '' : part.slice(newline + 1).trim());
  }
  return sections;
}
