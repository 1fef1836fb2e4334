/**
 * State diagrams generated from the XState machine definitions: a walk of
 * `machine.root` (states, nested states, initial states, final states, every
 * transition with its actions) into a plain description, and that description as
 * Mermaid `stateDiagram-v2` text. A change to a machine changes its diagram.
 */

/** The parts of an XState v5 state node this file reads. */
export interface MachineStateNode {
  readonly key: string;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  readonly path: readonly string[];
  readonly description?: string | undefined;
  readonly states: Readonly<Record<string, MachineStateNode>>;
  readonly initial: { readonly target: readonly MachineStateNode[] } | undefined;
  readonly transitions: ReadonlyMap<
    string,
    ReadonlyArray<{ readonly target: readonly MachineStateNode[] | undefined; readonly actions: readonly unknown[]; readonly guard?: unknown }>
  >;
}

export interface DiagramState {
  /** Dotted path from the root, e.g. `terminating.unsent`. */
  readonly path: string;
  /** The last segment of the path. */
  readonly name: string;
  readonly type: MachineStateNode['type'];
  readonly description: string | null;
  /** Dotted path of the state's initial child, for compound states. */
  readonly initialChild: string | null;
  /** Dotted paths of direct children. */
  readonly children: readonly string[];
  /** Dotted path of the parent state, or null for a top-level state. */
  readonly parent: string | null;
}

export interface DiagramTransition {
  /** Dotted path of the source state; `*` for a transition of the machine root (taken in every state). */
  readonly from: string;
  readonly event: string;
  /** Dotted path of the target state; null for a transition without target (actions only). */
  readonly to: string | null;
  readonly actions: readonly string[];
  readonly guard: string | null;
}

export interface MachineDescription {
  readonly id: string;
  /** Dotted path of the top-level initial state. */
  readonly initial: string | null;
  /** Every state, parents before children, in definition order. */
  readonly states: readonly DiagramState[];
  readonly transitions: readonly DiagramTransition[];
}

/** `*` is the machine root: its transitions apply in every state. */
export const anyState = '*';

function pathOf(node: MachineStateNode): string {
  return node.path.join('.');
}

function nameOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'function') return value.name === '' ? 'inline' : value.name;
  if (typeof value === 'object' && value !== null && 'type' in value && typeof value.type === 'string') return value.type;
  return 'inline';
}

/** Walks a machine's root state node into a description (no XState import needed). */
export function describeMachine(machine: { readonly id: string; readonly root: MachineStateNode }): MachineDescription {
  const states: DiagramState[] = [];
  const transitions: DiagramTransition[] = [];
  const visit = (node: MachineStateNode, parent: string | null): void => {
    const isRoot = node.path.length === 0;
    const from = isRoot ? anyState : pathOf(node);
    for (const [event, definitions] of node.transitions) {
      for (const definition of definitions) {
        const target = definition.target?.[0];
        transitions.push({
          from,
          event,
          to: target === undefined ? null : pathOf(target),
          actions: definition.actions.map(nameOf),
          guard: definition.guard === undefined ? null : nameOf(definition.guard),
        });
      }
    }
    const children = Object.values(node.states);
    if (!isRoot) {
      const initialChild = node.initial?.target[0];
      states.push({
        path: from,
        name: node.key,
        type: node.type,
        description: node.description ?? null,
        initialChild: initialChild === undefined ? null : pathOf(initialChild),
        children: children.map(pathOf),
        parent,
      });
    }
    for (const child of children) visit(child, isRoot ? null : from);
  };
  visit(machine.root, null);
  const initial = machine.root.initial?.target[0];
  return { id: machine.id, initial: initial === undefined ? null : pathOf(initial), states, transitions };
}

/** A Mermaid state id: letters, digits and `_` only, prefixed so no keyword is hit. */
function mermaidId(path: string): string {
  if (path === anyState) return 'any_state';
  if (path.endsWith(`.${anyState}`)) return `any_${path.slice(0, -anyState.length - 1).replace(/[^A-Za-z0-9]/g, '_')}`;
  return `s_${path.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** Text safe in a Mermaid label (Mermaid entity codes for its syntax characters). */
function mermaidLabel(text: string): string {
  return text.replace(/[;#:<>&%"{}\\`|]/g, (c) => `#${c.charCodeAt(0)};`);
}

export function transitionLabel(t: DiagramTransition): string {
  const guard = t.guard === null ? '' : ` [${t.guard}]`;
  const actions = t.actions.length === 0 ? '' : ` / ${t.actions.join(', ')}`;
  return `${t.event}${guard}${actions}`;
}

/**
 * The machine as `stateDiagram-v2` text. Compound states are drawn as nested boxes with
 * their own initial arrow; transitions of the machine root (taken in every state) leave a
 * dashed box labelled "any state"; final states lead to the end marker. Several
 * transitions between the same two states share one arrow with one label line each.
 */
export function stateDiagramMermaid(description: MachineDescription, options: { readonly direction?: 'TB' | 'LR' } = {}): string {
  const lines: string[] = ['stateDiagram-v2'];
  if (options.direction !== undefined) lines.push(`  direction ${options.direction}`);
  const byPath = new Map(description.states.map((s) => [s.path, s]));
  const hasRootTransitions = description.transitions.some((t) => t.from === anyState);
  // A compound state's transitions into its own sub-states leave a dashed "any <state>"
  // box inside it (drawn from the boundary they overlap the sub-states).
  const isInside = (path: string, ancestor: string): boolean => path.startsWith(`${ancestor}.`);
  const innerAny = new Set<string>();
  // Group transitions by (from, to); a targetless transition is a self-loop.
  const edges = new Map<string, { from: string; to: string; labels: string[] }>();
  for (const t of description.transitions) {
    const to = t.to ?? t.from;
    let from = t.from;
    if (from !== anyState && isInside(to, from)) {
      innerAny.add(from);
      from = `${from}.${anyState}`;
    }
    const key = `${from}\u0000${to}`;
    const edge = edges.get(key) ?? { from, to, labels: [] };
    edge.labels.push(transitionLabel(t));
    edges.set(key, edge);
  }
  /** The innermost compound state holding both ends, or null for the top level. */
  const scopeOf = (from: string, to: string): string | null => {
    if (from === anyState) return null;
    if (from.endsWith(`.${anyState}`)) return from.slice(0, -anyState.length - 1);
    const parentFrom = byPath.get(from)?.parent ?? null;
    const parentTo = byPath.get(to)?.parent ?? null;
    return parentFrom !== null && parentFrom === parentTo ? parentFrom : null;
  };
  const edgeLines = (scope: string | null, indent: string): string[] =>
    [...edges.values()]
      .filter((e) => scopeOf(e.from, e.to) === scope)
      .map((e) => `${indent}${mermaidId(e.from)} --> ${mermaidId(e.to)} : ${e.labels.map(mermaidLabel).join('<br/>')}`);

  const drawState = (state: DiagramState, indent: string): void => {
    if (state.children.length === 0) {
      lines.push(`${indent}state "${mermaidLabel(state.name)}" as ${mermaidId(state.path)}`);
      return;
    }
    lines.push(`${indent}state "${mermaidLabel(state.name)}" as ${mermaidId(state.path)} {`);
    const inner = `${indent}  `;
    if (state.initialChild !== null) lines.push(`${inner}[*] --> ${mermaidId(state.initialChild)}`);
    if (innerAny.has(state.path)) lines.push(`${inner}state "any ${mermaidLabel(state.name)} state" as ${mermaidId(`${state.path}.${anyState}`)}`);
    for (const child of state.children) {
      const childState = byPath.get(child);
      if (childState !== undefined) drawState(childState, inner);
    }
    lines.push(...edgeLines(state.path, inner));
    lines.push(`${indent}}`);
  };

  if (description.initial !== null) lines.push(`  [*] --> ${mermaidId(description.initial)}`);
  for (const state of description.states) if (state.parent === null) drawState(state, '  ');
  if (hasRootTransitions) lines.push('  state "any state" as any_state');
  lines.push(...edgeLines(null, '  '));
  for (const state of description.states) if (state.type === 'final') lines.push(`  ${mermaidId(state.path)} --> [*]`);
  const anyBoxes = [...(hasRootTransitions ? [anyState] : []), ...[...innerAny].map((p) => `${p}.${anyState}`)].map(mermaidId);
  if (anyBoxes.length > 0) {
    lines.push('  classDef anyState fill:#ffffff,stroke:#777777,stroke-dasharray:4 3,color:#555555');
    lines.push(`  class ${anyBoxes.join(',')} anyState`);
  }
  const finals = description.states.filter((s) => s.type === 'final');
  if (finals.length > 0) {
    lines.push('  classDef finalState fill:#eeeeee,stroke:#555555,color:#333333');
    lines.push(`  class ${finals.map((s) => mermaidId(s.path)).join(',')} finalState`);
  }
  return `${lines.join('\n')}\n`;
}
