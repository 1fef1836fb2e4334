/** The generated index of cases (conformance/INDEX.md): `npm run conformance:index` writes it, a test keeps it current. */
import { requirements } from '../spec/requirements.js';
import { roles } from '../machines/index.js';
import { allCases } from './cases/registry.js';
import { levelOf } from './cases/case.js';
import { notObservable } from './not-observable.js';

const profileNames: Record<string, string> = { kubelet: 'Kubelet', scheduler: 'Scheduler', replicaset: 'ReplicaSet', deployment: 'Deployment', autoscaler: 'Autoscaler' };

/** The README's sentence with the number of cases of each profile, between its `case-counts` markers (npm run conformance:index writes it). */
export function caseCountsMarkdown(): string {
  const order = ['kubelet', 'scheduler', 'replicaset', 'deployment', 'autoscaler'] as const;
  const counts = order.map((role) => {
    const cases = allCases.filter((c) => c.roles.includes(role));
    const required = cases.filter((c) => levelOf(c) === 'required').length;
    return `${profileNames[role] ?? role} ${cases.length} (${required} required)`;
  });
  return `Profiles, in cases: ${counts.join(', ')}; ${allCases.length} cases in all.`;
}

/** Replaces the text between `<!-- case-counts -->` and `<!-- /case-counts -->` in `readme`. */
export function withCaseCounts(readme: string): string {
  return readme.replace(/<!-- case-counts -->[\s\S]*?<!-- \/case-counts -->/, `<!-- case-counts -->${caseCountsMarkdown()}<!-- /case-counts -->`);
}

export function indexMarkdown(): string {
  const lines: string[] = [
    '# Conformance cases',
    '',
    'Generated from `conformance/cases/` by `npm run conformance:index`; do not edit. A case is',
    '*required* when every requirement it checks is a MUST (spec/11 §Verdicts).',
    '',
  ];
  for (const role of roles) {
    const cases = allCases.filter((c) => c.roles.includes(role));
    lines.push(`## ${role} (${cases.length} cases)`, '', '| Case | Level | Requirements | What it checks |', '| --- | --- | --- | --- |');
    for (const c of cases) lines.push(`| \`${c.id}\` | ${levelOf(c)} | ${distinct(c.requirements).join(' ')} | ${c.description.replaceAll('|', '\\|')} |`);
    lines.push('');
  }
  const covered = new Map<string, string[]>();
  // A case may name a requirement more than once (once per check it makes): list it once.
  for (const c of allCases) for (const id of distinct(c.requirements)) covered.set(id, [...(covered.get(id) ?? []), c.id]);
  lines.push('## Requirements', '', '| Requirement | Level | Cases |', '| --- | --- | --- |');
  for (const r of requirements) {
    const cases = covered.get(r.id);
    const elsewhere = notObservable.find((n) => n.id === r.id);
    lines.push(`| ${r.id} | ${r.level} | ${cases !== undefined ? cases.map((c) => `\`${c}\``).join(' ') : elsewhere !== undefined ? `not judged over the wire (below)` : '-'} |`);
  }
  lines.push('', '## MUST requirements no case checks', '', '| Requirement | Why | Covered by |', '| --- | --- | --- |');
  for (const n of notObservable) lines.push(`| ${n.id} | ${n.why} | ${n.coveredBy} |`);
  lines.push('');
  return lines.join('\n');
}

/** The IDs in their first order, each once. */
function distinct(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}
