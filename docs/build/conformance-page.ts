/**
 * The conformance page of the protocol site: every case of the conformance suite
 * (conformance/cases/registry.ts) with its roles, level and requirements, and the
 * cases of one requirement for the requirements table.
 */
import { allCases } from '../../conformance/cases/registry.js';
import { levelOf, type ConformanceCase } from '../../conformance/cases/case.js';
import { escapeHtml, linkTo, type Page } from './layout.js';
import { idLink, inlineText } from './links.js';
import type { IdRegistry } from './markdown.js';

export const conformancePagePath = 'conformance.html';

/** The anchor of a case on the conformance page. */
export function caseAnchor(id: string): string {
  return `case-${id.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
}

/** Links to the cases that check `requirement`, or an empty string when none does. */
export function caseLinks(page: string, requirement: string): string {
  return casesOf(requirement)
    .map((c) => `<a href="${linkTo(page, `${conformancePagePath}#${caseAnchor(c.id)}`)}"><code>${escapeHtml(c.id)}</code></a>`)
    .join(' ');
}

export function casesOf(requirement: string): ConformanceCase[] {
  return allCases.filter((c) => c.requirements.includes(requirement));
}

export function conformancePage(ids: IdRegistry): Page {
  const page = conformancePagePath;
  const rows = allCases
    .map((c) => {
      const filter = `${c.id} ${c.roles.join(' ')} ${levelOf(c)} ${c.requirements.join(' ')} ${c.title} ${c.description}`.toLowerCase();
      return `<tr id="${caseAnchor(c.id)}" data-filter="${escapeHtml(filter)}"><td><code>${escapeHtml(c.id)}</code></td><td>${c.roles.join(', ')}</td><td>${levelOf(c)}</td><td>${c.requirements.map((id) => idLink(page, id, ids)).join(' ')}</td><td><strong>${escapeHtml(c.title)}</strong><br>${inlineText(c.description, page, ids)}</td></tr>`;
    })
    .join('\n');
  const roles = [...new Set(allCases.flatMap((c) => c.roles))];
  const perRole = roles.map((r) => `${r}: ${allCases.filter((c) => c.roles.includes(r)).length}`).join(', ');
  return {
    path: page,
    title: 'Conformance cases',
    body: `<h1>Conformance cases</h1>
<p class="lead">The black-box cases of <code>npx kd conformance</code> (${allCases.length}; by role: ${escapeHtml(perRole)}), generated from <code>conformance/cases/</code>. A case is <em>required</em> when every requirement it checks is a MUST. The launch contract for a stage under test is <a href="${linkTo(page, 'spec/11-conformance.html')}">chapter 11</a>; the implementer's guide is <code>conformance/README.md</code>.</p>
<div class="filter"><label for="id-filter">Filter</label><input id="id-filter" type="search" placeholder="e.g. kubelet REQ-SESS" autocomplete="off"><span id="id-filter-count" class="muted"></span></div>
<table class="id-index"><thead><tr><th>case</th><th>roles</th><th>level</th><th>requirements</th><th>what it does</th></tr></thead><tbody>
${rows}
</tbody></table>`,
  };
}
