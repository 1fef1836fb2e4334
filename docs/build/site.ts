/**
 * Builds the protocol site into one folder: the normative spec with every ID anchored,
 * a state diagram per machine generated from the machines, the message reference from
 * the .proto, the requirements table, the counterexample gallery (the checker runs here),
 * the TypeScript API reference and the getting-started pages. Everything the pages load
 * is in the folder: it works offline and from any location.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CounterexampleTrace } from '../../checker/chain/trace.js';
import { consequenceHtml, damageMarks, stateTableOrReason } from '../../checker/render/html.js';
import { traceToMermaid, traceToSvg, type DamageMarks } from '../../checker/render/index.js';
import { correctMachines, lifecycleCatalog, machinesFor, type LifecycleMachineEntry, type MachineSet } from '../../machines/index.js';
import { properties, requirements, variants, type PropertyDescription, type Requirement, type VariantDescription } from '../../spec/index.js';
import { buildApiReference } from './api-reference.js';
import { checkVariants, galleryPreset, type VariantCheck } from './counterexamples.js';
import { conformancePage, caseLinks } from './conformance-page.js';
import { escapeHtml, linkTo, mermaidBlock, renderPage, type Page } from './layout.js';
import { idLink, inlineText } from './links.js';
import { markdownSections, renderMarkdown, type IdRegistry, type IdTarget } from './markdown.js';
import { protoReference } from './proto-reference.js';
import { anyState, describeMachine, stateDiagramMermaid, transitionLabel, type MachineDescription } from './state-diagram.js';
import { benchmarksPage, benchmarksPageDiagrams } from './benchmarks-page.js';
import { architectureHtml, placeFigures } from './protocol-figures.js';
import { expandGenerated } from './config-reference.js';
import { writeMermaidBundle } from './mermaid-bundle.js';

export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const defaultSiteDir = join(repositoryRoot, 'docs', 'site');

export interface BuildOptions {
  readonly outDir?: string;
  /** Run the checker for the counterexample gallery (default true). */
  readonly gallery?: boolean;
  /** Run typedoc for the API reference (default true). */
  readonly api?: boolean;
  readonly log?: (line: string) => void;
}

export interface BuildResult {
  readonly outDir: string;
  /** Site paths of every HTML page written (the API reference included). */
  readonly pages: readonly string[];
  /** Diagrams on the site's own pages: Mermaid blocks plus inline SVG sequence diagrams. */
  readonly diagrams: number;
  readonly requirementIds: readonly string[];
  readonly propertyIds: readonly string[];
  readonly seconds: number;
  readonly timings: Readonly<Record<string, number>>;
}

/** The spec chapters, in reading order (`NN-name.md`). */
function specChapters(): string[] {
  return readdirSync(join(repositoryRoot, 'spec'))
    .filter((f) => /^\d{2}-[a-z0-9-]+\.md$/.test(f))
    .sort();
}

const specPage = (file: string): string => `spec/${file.replace(/\.md$/, '.html')}`;
const machinePage = (entry: LifecycleMachineEntry): string => `machines/${entry.key}.html`;
const variantPage = (name: string): string => `gallery/${name}.html`;

function buildIdRegistry(): Map<string, IdTarget> {
  const ids = new Map<string, IdTarget>();
  for (const r of requirements) ids.set(r.id, { kind: 'requirement', page: specPage(`${r.section}.md`), title: `${r.id} (${r.level}): ${r.text}` });
  for (const p of properties) ids.set(p.id, { kind: 'property', page: 'spec/07-properties.html', title: `${p.id} ${p.title}: ${p.text}` });
  const decisions = readFileSync(join(repositoryRoot, 'spec', '09-decisions.md'), 'utf8');
  for (const match of decisions.matchAll(/^## (DEC-\d{2}) (.*)$/gm)) {
    const [, id, title] = match;
    if (id !== undefined) ids.set(id, { kind: 'decision', page: 'spec/09-decisions.html', title: `${id} ${title ?? ''}` });
  }
  return ids;
}

/** Inline Markdown-ish text of the data files (backticks only) as HTML, with IDs linked. */
/** Where `kd check` evaluates a property, read from the checker's sources. */
function checkedBy(property: PropertyDescription): { readonly files: readonly string[]; readonly text: string } {
  const read = (path: string): string => {
    const full = join(repositoryRoot, path);
    return existsSync(full) ? readFileSync(full, 'utf8') : '';
  };
  if (property.kind === 'safety') {
    const files = ['simulator/invariants.ts', 'simulator/ghost.ts'].filter((f) => read(f).includes(`'${property.id}'`));
    return { files, text: files.length === 0 ? 'not checked yet' : `kd check, every state (${files.join(', ')})` };
  }
  if (read('checker/chain/model.ts').includes(`goalProperty = '${property.id}'`)) {
    const files = ['checker/engine/liveness.ts', 'checker/chain/model.ts'];
    return { files, text: 'kd check, weak fairness after the last fault (checker/engine/liveness.ts; goal in checker/chain/model.ts)' };
  }
  if (property.id === 'LIVE-NO-CHURN')
    return {
      files: ['simulator/ghost.ts'],
      text: 'kd check, through termination: every creation adds a never-reused name to the state (ghost.created), so a search that ends verified rules out endless create/rollback runs in its configuration (spec 07); a bounded search proves nothing here',
    };
  return { files: [], text: 'not checked yet: no predicate in the checker' };
}

function badge(text: string, kind = ''): string {
  return `<span class="badge${kind === '' ? '' : ` ${kind}`}">${escapeHtml(text)}</span>`;
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

/** The spec's pages, and how many figures they place (`<!-- figure: NAME -->`, protocol-figures.ts). */
function specPages(ids: IdRegistry): { readonly pages: Page[]; readonly diagrams: number } {
  const rewriteLink = (href: string): string | null => {
    if (/^[a-z]+:/i.test(href) || href.startsWith('#')) return null;
    const [path = '', fragment] = href.split('#');
    const suffix = fragment === undefined ? '' : `#${fragment}`;
    if (path === 'README.md') return `index.html${suffix}`;
    if (path === 'kubedirect.proto') return `../messages.html${suffix}`;
    if (/^\d{2}-[a-z0-9-]+\.md$/.test(path)) return `${path.replace(/\.md$/, '.html')}${suffix}`;
    return null;
  };
  const pages: Page[] = [];
  const readme = renderMarkdown(readFileSync(join(repositoryRoot, 'spec', 'README.md'), 'utf8'), { page: 'spec/index.html', ids, rewriteLink });
  pages.push({
    path: 'spec/index.html',
    title: 'Specification',
    body: `${readme.html}\n<p class="muted">The wire schema as a file: <a href="kubedirect.proto">spec/kubedirect.proto</a>; as a reference: <a href="../messages.html">Messages</a>.</p>`,
  });
  const chapters = specChapters();
  let diagrams = 0;
  chapters.forEach((file, i) => {
    const page = specPage(file);
    const rendered = renderMarkdown(readFileSync(join(repositoryRoot, 'spec', file), 'utf8'), { page, ids, rewriteLink });
    const figured = placeFigures(rendered.html, `spec/${file}`);
    diagrams += figured.placed.length;
    for (const [id, target] of ids) {
      if (target.page === page && !new RegExp(`id="${id}"`).test(rendered.html)) throw new Error(`${file}: ${id} is defined here by the data files but has no anchor in the text`);
    }
    const previous = chapters[i - 1];
    const next = chapters[i + 1];
    const pager = `<p class="muted">${previous === undefined ? '' : `← <a href="${previous.replace(/\.md$/, '.html')}">${escapeHtml(previous.replace(/\.md$/, ''))}</a>`}${previous !== undefined && next !== undefined ? ' · ' : ''}${next === undefined ? '' : `<a href="${next.replace(/\.md$/, '.html')}">${escapeHtml(next.replace(/\.md$/, ''))}</a> →`}</p>`;
    pages.push({ path: page, title: rendered.title ?? file, body: `${figured.html}\n${pager}` });
  });
  return { pages, diagrams };
}

/** Which variants change a machine: their machine differs from the correct one. */
function variantsChanging(key: keyof MachineSet, correct: MachineDescription): string[] {
  const reference = JSON.stringify(correct);
  return variants.filter((v) => JSON.stringify(describeMachine(machinesFor(v.name)[key])) !== reference).map((v) => v.name);
}

/** The spec section on each machine: a heading of 04 (or 05) that starts with this text. */
const specSectionOfMachine: Readonly<Record<keyof MachineSet, readonly [string, string]>> = {
  replicaSetPod: ['04-lifecycles', 'ReplicaSet pod'],
  schedulerPod: ['04-lifecycles', 'Scheduler pod'],
  kubeletPod: ['04-lifecycles', 'Kubelet sandbox'],
  scaleEntry: ['05-stage-decisions', 'Deployment and Autoscaler'],
  upstreamSession: ['04-lifecycles', 'Upstream session'],
  downstreamSession: ['04-lifecycles', 'Downstream session'],
};

function specHeadingAnchor(chapter: string, prefix: string, ids: IdRegistry): string {
  const page = specPage(`${chapter}.md`);
  const rendered = renderMarkdown(readFileSync(join(repositoryRoot, 'spec', `${chapter}.md`), 'utf8'), { page, ids });
  const match = [...rendered.html.matchAll(/<h[23] id="([^"]+)">(.*?) <a class="heading-anchor"/g)].find((m) => (m[2] ?? '').replace(/<[^>]+>/g, '').startsWith(prefix));
  if (match?.[1] === undefined) throw new Error(`no heading "${prefix}..." in spec/${chapter}.md`);
  return `${page}#${match[1]}`;
}

interface MachinePages {
  readonly pages: Page[];
  readonly diagrams: number;
}

function machinePages(ids: IdRegistry): MachinePages {
  const set = correctMachines();
  const pages: Page[] = [];
  const rows: string[] = [];
  for (const entry of lifecycleCatalog) {
    const machine = set[entry.key];
    const description = describeMachine(machine);
    const page = machinePage(entry);
    const [chapter, prefix] = specSectionOfMachine[entry.key];
    const specLink = linkTo(page, specHeadingAnchor(chapter, prefix, ids));
    const changedBy = variantsChanging(entry.key, description);
    // Small machines read best left to right; the pod lifecycles top to bottom.
    const diagram = stateDiagramMermaid(description, { direction: description.states.length > 5 ? 'TB' : 'LR' });
    const stateName = (path: string | null): string => (path === null ? '(no change)' : path === anyState ? 'any state' : path);
    const states = description.states
      .map(
        (s) =>
          `<tr id="state-${escapeHtml(s.path.replace(/\./g, '-'))}"><td><code>${escapeHtml(s.path)}</code>${s.path === description.initial ? ' ' + badge('initial') : ''}${s.type === 'final' ? ' ' + badge('final') : ''}${s.type === 'compound' ? ' ' + badge('compound') : ''}</td><td>${s.description === null ? '' : inlineText(s.description, page, ids)}</td></tr>`,
      )
      .join('\n');
    const eventRows = entry.events
      .map((event) => {
        const ts = description.transitions.filter((t) => t.event === event);
        const list = ts.length === 0 ? '<span class="muted">ignored in every state</span>' : ts.map((t) => `<code>${escapeHtml(stateName(t.from))}</code> → <code>${escapeHtml(stateName(t.to))}</code>${t.actions.length > 0 ? ` / ${t.actions.map((a) => `<code>${escapeHtml(a)}</code>`).join(', ')}` : ''}`).join('<br>');
        return `<tr id="event-${escapeHtml(event)}"><td><code>${escapeHtml(event)}</code></td><td>${list}</td></tr>`;
      })
      .join('\n');
    const actionRows = entry.actions
      .map((action) => {
        const ts = description.transitions.filter((t) => t.actions.includes(action));
        return `<tr id="action-${escapeHtml(action)}"><td><code>${escapeHtml(action)}</code></td><td>${ts.map((t) => `<code>${escapeHtml(transitionLabel(t))}</code> (${escapeHtml(stateName(t.from))} → ${escapeHtml(stateName(t.to))})`).join('<br>')}</td></tr>`;
      })
      .join('\n');
    const undeclared = [...new Set(description.transitions.map((t) => t.event))].filter((e) => !entry.events.includes(e));
    if (undeclared.length > 0) throw new Error(`${entry.key}: events ${undeclared.join(', ')} have transitions but are not in lifecycleCatalog`);
    const body = `
<h1>${escapeHtml(entry.title)}</h1>
<p class="lead">XState machine <code>${escapeHtml(machine.id)}</code>, run by ${entry.stages.map((s) => `<code>${escapeHtml(s)}</code>`).join(', ')}. Spec: <a href="${specLink}">${escapeHtml(prefix)} in ${escapeHtml(chapter)}</a>.</p>
<p class="muted">Generated from the machine definition in <code>machines/</code> (walking <code>machine.root</code>): a change to the machine changes this diagram. A dashed "any state" box stands for transitions defined on the machine itself, taken in every state. Labels read <code>event / actions</code>.</p>
<p class="muted">The diagram is fitted to the window: click it for its full size (and again to fit it).</p>
<div class="full-bleed">${mermaidBlock(diagram, `State diagram of ${entry.title}`, { fit: true })}</div>
<div class="machine-layout">
  <div>
    <h2 id="events">Events (${entry.events.length})</h2>
    <table><thead><tr><th>event</th><th>transitions</th></tr></thead><tbody>
${eventRows}
    </tbody></table>
  </div>
  <div>
    <h2 id="actions">Actions (${entry.actions.length})</h2>
    <table><thead><tr><th>action</th><th>on</th></tr></thead><tbody>
${actionRows}
    </tbody></table>
  </div>
</div>
<h2 id="states">States</h2>
<table><thead><tr><th>state</th><th>description</th></tr></thead><tbody>
${states}
</tbody></table>
<h2 id="variants">Known-bad variants that change this machine</h2>
<p>${changedBy.length === 0 ? 'None: every variant leaves this machine as it is.' : changedBy.map((v) => `<a href="${linkTo(page, variantPage(v))}"><code>${escapeHtml(v)}</code></a>`).join(', ')}</p>
<details><summary>Mermaid source of the diagram</summary><pre><code>${escapeHtml(diagram)}</code></pre></details>
`;
    pages.push({ path: page, title: entry.title, body, mermaid: true });
    rows.push(
      `<tr><td><a href="${entry.key}.html">${escapeHtml(entry.title)}</a></td><td><code>${escapeHtml(machine.id)}</code></td><td>${entry.stages.map((s) => `<code>${escapeHtml(s)}</code>`).join(', ')}</td><td class="num">${description.states.length}</td><td class="num">${entry.events.length}</td><td class="num">${entry.actions.length}</td></tr>`,
    );
  }
  pages.unshift({
    path: 'machines/index.html',
    title: 'State machines',
    body: `<h1>State machines</h1>
<p class="lead">Every lifecycle machine of the protocol (<code>lifecycleCatalog</code> in <code>machines/catalog.ts</code>), drawn from its XState definition.</p>
<table><thead><tr><th>machine</th><th>id</th><th>run by</th><th>states</th><th>events</th><th>actions</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
<p>The machines hold no context and do no I/O: an entry's lifecycle state is a dotted string in the stage state, and actions are names that the stage turns into effects (see <code>machines/README.md</code>, the driver contract, and the <a href="../api/index.html">API reference</a>).</p>`,
  });
  return { pages, diagrams: lifecycleCatalog.length };
}

function requirementsPage(ids: IdRegistry): Page {
  const page = 'requirements.html';
  const checks = new Map(properties.map((p) => [p.id, checkedBy(p)]));
  const breaking = (propertyIds: readonly string[]): VariantDescription[] => variants.filter((v) => v.breaks.some((b) => propertyIds.includes(b)));
  const variantLinks = (vs: readonly VariantDescription[], requirementId: string | null): string =>
    vs.length === 0
      ? '<span class="muted">none</span>'
      : vs.map((v) => `<a class="variant-name" href="${variantPage(v.name)}"><code>${escapeHtml(v.name)}</code></a>${v.preventedBy === requirementId ? ' ' + badge('prevents it') : ''}`).join('<br>');
  const requirementRows = requirements
    .map((r: Requirement) => {
      const protects = r.protects.length === 0 ? '<span class="muted">none (interoperability)</span>' : r.protects.map((p) => idLink(page, p, ids)).join('<br>');
      const checked = r.protects.length === 0 ? '<span class="muted">-</span>' : r.protects.map((p) => `${idLink(page, p, ids)}: ${escapeHtml(checks.get(p)?.text ?? '')}`).join('<br>');
      const vs = [...new Set([...breaking(r.protects), ...variants.filter((v) => v.preventedBy === r.id)])];
      const filter = `${r.id} ${r.level} ${r.roles.join(' ')} ${r.section} ${r.protects.join(' ')} ${r.text}`.toLowerCase();
      // The row is the anchor: requirements.html#REQ-... lands on it (the ID's own link goes to the spec chapter).
      return `<tr id="${r.id}" data-filter="${escapeHtml(filter)}"><td>${idLink(page, r.id, ids)}</td><td>${r.level}</td><td>${r.roles.length === 5 ? 'all' : r.roles.join(', ')}</td><td>${inlineText(r.text, page, ids)}</td><td>${protects}</td><td>${checked}</td><td>${variantLinks(vs, r.id)}</td><td>${caseLinks(page, r.id) || badge('no case', 'not-yet')}</td></tr>`;
    })
    .join('\n');
  const propertyRows = properties
    .map((p) => {
      const protectors = requirements.filter((r) => r.protects.includes(p.id));
      const check = checks.get(p.id);
      return `<tr id="${p.id}"><td>${idLink(page, p.id, ids)}</td><td>${p.kind}</td><td>${escapeHtml(p.title)}</td><td>${check === undefined || check.files.length === 0 ? badge(check?.text ?? 'not checked yet', 'not-yet') : escapeHtml(check.text)}</td><td>${variantLinks(breaking([p.id]), null)}</td><td class="num">${protectors.length}</td></tr>`;
    })
    .join('\n');
  const unchecked = properties.filter((p) => (checks.get(p.id)?.files.length ?? 0) === 0).map((p) => p.id);
  return {
    path: page,
    title: 'Requirements',
    body: `<h1>Requirements and their coverage</h1>
<p class="lead">Every requirement of the spec (${requirements.length}, from <code>spec/requirements.ts</code>, which a test keeps equal to the prose) with the properties it protects, where the model checker checks those properties, the known-bad variants that break them, and its conformance cases.</p>
<div class="callout"><strong>Coverage.</strong> A requirement is checked in two ways. Over the wire, by the cases of the <a href="${linkTo(page, 'conformance.html')}">conformance suite</a> listed in the last column (${requirements.filter((r) => r.level === 'MUST' && caseLinks(page, r.id) === '').length} MUST requirements have no case yet). In the model, through the properties it protects: <code>kd check</code> checks every safety invariant in every reachable state (predicates in <code>simulator/invariants.ts</code> and <code>simulator/ghost.ts</code>) and LIVE-CONVERGENCE under weak fairness (<code>checker/engine/liveness.ts</code>).${unchecked.length === 0 ? '' : ` Not checked by any predicate yet: ${unchecked.map((id) => idLink(page, id, ids)).join(', ')}.`}</div>
<h2 id="properties">Properties</h2>
<table><thead><tr><th>property</th><th>kind</th><th>title</th><th>checked by</th><th>broken by variants</th><th>requirements</th></tr></thead><tbody>
${propertyRows}
</tbody></table>
<h2 id="requirements">Requirements</h2>
<div class="filter"><label for="id-filter">Filter</label><input id="id-filter" type="search" placeholder="e.g. scheduler MUST INV-CAPACITY" autocomplete="off"><span id="id-filter-count" class="muted"></span></div>
<table class="requirements"><thead><tr><th>ID</th><th>level</th><th>roles</th><th>text</th><th>protects</th><th>checked by (kd check)</th><th>known-bad variants</th><th>conformance</th></tr></thead><tbody>
${requirementRows}
</tbody></table>`,
  };
}

function stepsTable(trace: CounterexampleTrace, damage: DamageMarks | null): string {
  const rows = trace.steps
    .map((s) => {
      const delivered = s.delivered === null ? '' : `<code>${escapeHtml(s.delivered.label)}</code> ${escapeHtml(s.delivered.from)} → ${escapeHtml(s.delivered.to)}${s.delivered.stale ? ' <strong>(late)</strong>' : ''}`;
      const sent = s.sent.map((m) => `<code>${escapeHtml(m.label)}</code> → ${escapeHtml(m.to)}`).join('<br>');
      const harms = damage !== null && damage.harmStep === s.step ? damage.harms.map((text) => `<span class="harm-text"><strong>user sees</strong>: ${escapeHtml(text)}</span>`) : [];
      const broken = [...s.violations.map((v) => `<span class="violation"><strong>${escapeHtml(v.property)}</strong>: ${escapeHtml(v.message)}</span>`), ...harms].join('<br>');
      const classes = [...(s.violations.length > 0 ? ['broken'] : []), ...(harms.length > 0 ? ['harm'] : []), ...(damage?.counterexampleLastStep != null && s.step === damage.counterexampleLastStep + 1 ? ['continued'] : [])];
      return `<tr${classes.length > 0 ? ` class="${classes.join(' ')}"` : ''}><td class="num">${s.step}</td><td>${escapeHtml(s.description)}</td><td>${delivered}</td><td>${sent}</td><td>${broken}</td></tr>`;
    })
    .join('\n');
  return `<table class="steps"><thead><tr><th>#</th><th>action</th><th>delivered</th><th>sent</th><th>broken</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** A card's line on the damage a user would see. */
function galleryCardHarm(check: VariantCheck | null): string {
  const consequence = check?.consequence ?? null;
  if (consequence === null) return '';
  const first = consequence.harms[0];
  if (consequence.found === 'none' || first === undefined) return 'No damage a user sees in this configuration. ';
  return `A user sees: ${escapeHtml(first.text)}. `;
}

interface GalleryPages {
  readonly pages: Page[];
  readonly diagrams: number;
}

function galleryPages(checks: readonly VariantCheck[] | null, ids: IdRegistry): GalleryPages {
  const variantsText = readFileSync(join(repositoryRoot, 'spec', '08-known-bad-variants.md'), 'utf8');
  const sections = markdownSections(variantsText);
  const pages: Page[] = [];
  const cards: string[] = [];
  let diagrams = 0;
  for (const v of variants) {
    const page = variantPage(v.name);
    const check = checks?.find((c) => c.variant === v.name) ?? null;
    if (checks !== null && (check === null || check.trace === null)) throw new Error(`the checker found no counterexample for variant ${v.name} on preset ${galleryPreset}`);
    const trace = check?.trace ?? null;
    const section = sections.get(v.name);
    if (section === undefined) throw new Error(`spec/08-known-bad-variants.md has no section for ${v.name}`);
    const explanation = renderMarkdown(section, { page, ids }).html;
    const prevented = requirements.find((r) => r.id === v.preventedBy);
    const broken = trace?.property ?? null;
    const facts = `<dl class="facts">
<dt>What changes</dt><dd>${inlineText(v.change, page, ids)}</dd>
<dt>Breaks</dt><dd>${v.breaks.map((b) => idLink(page, b, ids)).join(', ')} (the first is the one it breaks first)</dd>
<dt>Prevented by</dt><dd>${idLink(page, v.preventedBy, ids)}${prevented === undefined ? '' : `: ${inlineText(prevented.text, page, ids)}`}</dd>
${
  check === null || trace === null
    ? '<dt>Checker</dt><dd class="muted">not run in this build (gallery disabled)</dd>'
    : `<dt>Checker</dt><dd><code>kd check --preset ${escapeHtml(check.preset)} --variant ${escapeHtml(v.name)}</code>: ${escapeHtml(check.verdict)}, ${idLink(page, trace.property, ids)} (${escapeHtml(trace.kind)}) after ${trace.steps.length} steps; ${check.states} distinct states explored in ${check.seconds.toFixed(1)} s.</dd>
<dt>What the checker saw</dt><dd class="violation">${escapeHtml(trace.message)}</dd>`
}
</dl>`;
    let diagramsHtml = '<p class="muted">The gallery was built without running the checker.</p>';
    if (trace !== null) {
      diagrams += 2;
      const consequence = check?.consequence ?? null;
      const shown = consequence?.trace ?? trace;
      const damage = damageMarks(trace, consequence);
      const drawn =
        consequence === null || consequence.found === 'none' || shown === trace
          ? `Shortest counterexample (${trace.steps.length} steps)`
          : consequence.found === 'continued'
            ? `Shortest counterexample (${trace.steps.length} steps), run on to the damage (${shown.steps.length} steps)`
            : `The shortest run that does damage (${shown.steps.length} steps)`;
      diagramsHtml = `<h2 id="consequence">What a user would see</h2>
${consequence === null ? '' : consequenceHtml(trace, consequence)}
<h2 id="sequence">${escapeHtml(drawn)}</h2>
<p class="muted">Breadth-first search on preset <code>${escapeHtml(galleryPreset)}</code> (two nodes of capacity 1, a low- and a high-priority function, one fault). The run starts with every link synced. Arrows are deliveries (dashed: a message of an ended session delivered late); boxes are other actions; the red band is where a property breaks, the orange band what a user sees${damage?.counterexampleLastStep != null ? ', and the dashed line where the counterexample ends and the same run goes on' : ''}. The spec's scenario above is a hand-written illustration of the same bug; the checker's run below is the shortest one it finds and may take another route.</p>
<div class="diagram trace-svg">${traceToSvg(shown, null, damage)}</div>
<h2 id="steps">Steps</h2>
${stepsTable(shown, damage)}
<h2 id="state">State after each step</h2>
<p class="muted">Every stage, the sandboxes on each node, the store and the messages in flight (epochs as incarnation.counter) after each step; a highlighted cell changed at that step.</p>
${stateTableOrReason(shown, damage)}
<h2 id="mermaid">The same trace as a Mermaid sequence diagram</h2>
${mermaidBlock(traceToMermaid(trace), `Mermaid sequence diagram of the ${v.name} counterexample`)}
<p>Reproduce it: <code>npx kd check --preset ${escapeHtml(galleryPreset)} --variant ${escapeHtml(v.name)}</code>, then <code>npx kd replay out/counterexamples/${escapeHtml(`${galleryPreset}-${v.name}-${trace.property}`)}.json</code>, or step through it in your browser, every stage's full state at each step, with <code>npx kd explore --trace out/counterexamples/${escapeHtml(`${galleryPreset}-${v.name}-${trace.property}`)}.json</code>.</p>`;
    }
    pages.push({
      path: page,
      title: `Counterexample: ${v.name}`,
      mermaid: trace !== null,
      body: `<h1>Known-bad variant <code>${escapeHtml(v.name)}</code></h1>
${facts}
<h2 id="what-goes-wrong">What goes wrong (spec 08)</h2>
${explanation}
<p class="muted">From <a href="${linkTo(page, `spec/08-known-bad-variants.html#${v.name}`)}">08 Known-bad variants</a>.</p>
${diagramsHtml}`,
    });
    cards.push(
      `<div class="card"><h3><a href="${v.name}.html"><code>${escapeHtml(v.name)}</code></a></h3><p>${inlineText(v.change, 'gallery/index.html', ids)}</p><p>${broken === null ? '' : `Breaks ${idLink('gallery/index.html', broken, ids)} in ${trace?.steps.length ?? 0} steps. `}${galleryCardHarm(check)}Prevented by ${idLink('gallery/index.html', v.preventedBy, ids)}.</p></div>`,
    );
  }
  pages.unshift({
    path: 'gallery/index.html',
    title: 'Counterexamples',
    body: `<h1>Counterexample gallery</h1>
<p class="lead">Each known-bad variant (<code>spec/variants.ts</code>) is a deliberate protocol bug. For each, the model checker's shortest run that breaks a property, found when this site was built, run on to the damage a user would see (or the shortest run that does damage), drawn as a sequence diagram with the full state after every step, with what goes wrong and the rule that prevents it.</p>
<div class="cards">
${cards.join('\n')}
</div>`,
  });
  return { pages, diagrams };
}

function startPages(ids: IdRegistry): Page[] {
  const audiences = [
    { file: 'reader', title: 'Reader', summary: 'What Kubedirect is, the order to read the spec in, and where the diagrams are.' },
    { file: 'implementer', title: 'Implementer', summary: 'The wire protocol, the .proto, the requirements that bind a stage, and how to run the conformance suite against your stage.' },
    { file: 'operator', title: 'Operator', summary: 'The local gRPC cluster (kd up), mutual TLS, the backing store, metrics and traces, kd simulate and kd check.' },
    { file: 'operator-guide', title: 'Operator guide', summary: 'The chain on several hosts: set-up step by step, configuration reference, every metric, alerts, certificate rotation, upgrades.' },
  ];
  const pages: Page[] = audiences.map((a) => {
    const page = `start/${a.file}.html`;
    const rendered = renderMarkdown(expandGenerated(readFileSync(join(repositoryRoot, 'docs', 'pages', `${a.file}.md`), 'utf8')), { page, ids });
    return { path: page, title: rendered.title ?? a.title, body: rendered.html };
  });
  pages.unshift({
    path: 'start/index.html',
    title: 'Getting started',
    body: `<h1>Getting started</h1>
<div class="cards">
${audiences.map((a) => `<div class="card"><h3><a href="${a.file}.html">${escapeHtml(a.title)}</a></h3><p>${escapeHtml(a.summary)}</p></div>`).join('\n')}
</div>`,
  });
  return pages;
}

function indexPage(ids: IdRegistry, facts: { readonly machines: number; readonly variants: number; readonly proto: string }): Page {
  const page = 'index.html';
  const row = (id: string, kind: string, title: string, where: string): string =>
    `<tr data-filter="${escapeHtml(`${id} ${kind} ${title} ${where}`.toLowerCase())}"><td>${idLink(page, id, ids)}</td><td>${escapeHtml(kind)}</td><td>${inlineText(title, page, ids)}</td><td>${escapeHtml(where)}</td></tr>`;
  const rows = [
    ...properties.map((p) => row(p.id, p.kind === 'safety' ? 'safety invariant' : 'liveness property', `${p.title}: ${p.text}`, '07-properties')),
    ...requirements.map((r) => row(r.id, `requirement, ${r.level}`, r.text, r.section)),
    ...[...ids].filter(([, t]) => t.kind === 'decision').map(([id, t]) => row(id, 'decision', t.title.slice(id.length + 1), '09-decisions')),
    ...variants.map(
      (v) =>
        `<tr data-filter="${escapeHtml(`${v.name} variant ${v.change}`.toLowerCase())}"><td><a href="${variantPage(v.name)}"><code>${escapeHtml(v.name)}</code></a></td><td>known-bad variant</td><td>${inlineText(v.change, page, ids)}</td><td>08-known-bad-variants</td></tr>`,
    ),
  ];
  return {
    path: page,
    title: 'Home',
    body: `<h1>Kubedirect protocol</h1>
<p class="lead">Direct message passing between the Kubernetes controllers on the serverless scale-out path (Autoscaler → Deployment → ReplicaSet → Scheduler → Kubelet per node), from the NSDI'26 paper. This site is generated from the reference implementation, kubedirect-ts.</p>
${architectureHtml()}
<div class="cards">
  <div class="card"><h3><a href="start/index.html">Getting started</a></h3><p>For readers, implementers and operators.</p></div>
  <div class="card"><h3><a href="spec/index.html">Specification</a></h3><p>The normative protocol, chapters 01 to 10; every requirement and property anchored by its ID.</p></div>
  <div class="card"><h3><a href="machines/index.html">State machines</a></h3><p>${facts.machines} lifecycle machines, each drawn from its code, with events and actions.</p></div>
  <div class="card"><h3><a href="messages.html">Messages</a></h3><p>${escapeHtml(facts.proto)}</p></div>
  <div class="card"><h3><a href="requirements.html">Requirements</a></h3><p>${requirements.length} requirements, the properties they protect and what checks them.</p></div>
  <div class="card"><h3><a href="gallery/index.html">Counterexamples</a></h3><p>${facts.variants} known-bad variants and the checker's shortest run that breaks each.</p></div>
  <div class="card"><h3><a href="benchmarks.html">Benchmarks</a></h3><p>How the figures were measured, the full tables, the latency plot, and the history of changes.</p></div>
  <div class="card"><h3><a href="api/index.html">API reference</a></h3><p>The public TypeScript modules of spec/, machines/, simulator/, checker/, runtime/ and conformance/.</p></div>
</div>
<h2 id="index">Index of IDs</h2>
<p>Every property (${properties.length}), requirement (${requirements.length}), decision and known-bad variant, linked to where it is defined.</p>
<div class="filter"><label for="id-filter">Search</label><input id="id-filter" type="search" placeholder="e.g. REQ-SESS, tombstone, scheduler" autocomplete="off"><span id="id-filter-count" class="muted"></span></div>
<table class="id-index"><thead><tr><th>ID</th><th>kind</th><th>text</th><th>defined in</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`,
  };
}

// ---------------------------------------------------------------------------
// The build
// ---------------------------------------------------------------------------

function listHtml(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listHtml(join(dir, entry.name), path));
    else if (entry.name.endsWith('.html')) out.push(path);
  }
  return out.sort();
}

export async function buildSite(options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const outDir = options.outDir ?? defaultSiteDir;
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
    const t = performance.now();
    const value = await f();
    timings[name] = (performance.now() - t) / 1000;
    log(`  ${name}: ${timings[name]?.toFixed(1)} s`);
    return value;
  };

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'assets'), { recursive: true });

  const ids = buildIdRegistry();
  // The checker and typedoc are the slow parts: start the checker's child processes first.
  const checksPromise = options.gallery === false ? Promise.resolve(null) : timed('counterexamples (kd check per variant)', () => checkVariants(variants.map((v) => v.name)));
  const api = options.api === false ? null : await timed('API reference (typedoc)', () => buildApiReference(repositoryRoot, join(outDir, 'api')));
  if (api === null) {
    mkdirSync(join(outDir, 'api'), { recursive: true });
    writeFileSync(join(outDir, 'api', 'index.html'), renderPage({ path: 'api/index.html', title: 'API reference', body: '<h1>API reference</h1><p>Built without typedoc (<code>api: false</code>).</p>' }));
  }

  const proto = readFileSync(join(repositoryRoot, 'spec', 'kubedirect.proto'), 'utf8');
  const messages = protoReference(proto, 'messages.html', ids);
  const protoFacts = `${messages.summary.services} services, ${messages.summary.messages} messages, ${messages.summary.enums} enums of ${messages.summary.packageName}, from spec/kubedirect.proto.`;
  const machines = machinePages(ids);
  const checks = await checksPromise;
  const gallery = galleryPages(checks, ids);
  const spec = specPages(ids);
  /** The home page's architecture figure. */
  const homeDiagrams = 1;

  const pages: Page[] = [
    indexPage(ids, { machines: lifecycleCatalog.length, variants: variants.length, proto: protoFacts }),
    ...startPages(ids),
    ...spec.pages,
    ...machines.pages,
    { path: 'messages.html', title: 'Messages', body: `<h1>Message reference</h1>\n${messages.html}` },
    requirementsPage(ids),
    conformancePage(ids),
    ...gallery.pages,
    benchmarksPage(ids),
  ];
  for (const page of pages) {
    const file = join(outDir, page.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, renderPage(page));
  }

  // Assets: the site's own, the Mermaid bundle (no CDN) and the raw .proto.
  for (const asset of ['site.css', 'site.js', 'favicon.svg']) copyFileSync(join(repositoryRoot, 'docs', 'assets', asset), join(outDir, 'assets', asset));
  await writeMermaidBundle(join(outDir, 'assets', 'mermaid.min.js'));
  copyFileSync(join(repositoryRoot, 'spec', 'kubedirect.proto'), join(outDir, 'spec', 'kubedirect.proto'));
  // google.rpc.Status, which carries a rejection's ErrorDetail (spec 10 §Errors): linked from the spec as spec/google/rpc/status.proto.
  mkdirSync(join(outDir, 'spec', 'google', 'rpc'), { recursive: true });
  copyFileSync(join(repositoryRoot, 'spec', 'google', 'rpc', 'status.proto'), join(outDir, 'spec', 'google', 'rpc', 'status.proto'));

  return {
    outDir,
    pages: listHtml(outDir),
    diagrams: machines.diagrams + gallery.diagrams + benchmarksPageDiagrams + spec.diagrams + homeDiagrams,
    requirementIds: requirements.map((r) => r.id),
    propertyIds: properties.map((p) => p.id),
    seconds: (performance.now() - started) / 1000,
    timings,
  };
}
