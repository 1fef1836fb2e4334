/**
 * One explored model: the checker's chain model (the same machines, presets and enabled
 * actions as `kd check`) walked along paths of action indices, with what the API shows of
 * each state. States are kept by path (bounded, least recently used first out), so a step
 * forward costs one transition. Protocol decisions are the model's: this only drives it.
 */
import { ChainModel, type ChainState } from '../checker/chain/model.js';
import { assert } from '../machines/index.js';
import type { CheckConfig } from '../checker/chain/presets.js';
import { livenessPropertyIds, properties, safetyInvariantIds } from '../spec/properties.js';
import { messageLabel } from '../checker/chain/trace.js';
import { pathLengthMax, statesCachedMax } from './limits.js';
import { cellsOf, differences, stateView } from './state-view.js';
import type { ActionView, PropertyInfo, PropertyStatus, StateResponse } from './view.js';

/** A path the model cannot walk: answered 400 with this message. */
export class PathError extends Error {
  override readonly name = 'PathError';
}

interface Broken {
  readonly step: number;
  readonly message: string;
}

/**
 * A state reached by a path, with what the path did on the way. It keeps the state one
 * step before (for the differences) but no link to earlier nodes, so the states kept
 * alive are at most twice `statesCachedMax`.
 */
interface PathNode {
  readonly state: ChainState;
  readonly before: ChainState | null;
  /** The path's actions, one line each (shared strings: copying the list copies references). */
  readonly steps: readonly string[];
  readonly depth: number;
  /** Properties broken by the step into this state or in it. */
  readonly violations: ReadonlyArray<{ readonly property: string; readonly message: string }>;
  /** First break of each property on the path up to here. */
  readonly firstBroken: ReadonlyMap<string, Broken>;
  /** First step covering each sometimes property on the path up to here. */
  readonly covered: ReadonlyMap<string, number>;
}

/** Parses `0.3.12` (action indices, dot-separated; empty for the initial state). */
export function parsePath(text: string | null): number[] {
  if (text === null || text === '') return [];
  if (!/^\d{1,9}(\.\d{1,9})*$/.test(text)) throw new PathError(`path must be action indices separated by dots, like 0.3.1 (got "${text.slice(0, 80)}")`);
  const path = text.split('.').map(Number);
  if (path.length > pathLengthMax) throw new PathError(`path has ${path.length} steps; at most ${pathLengthMax} (pathLengthMax)`);
  return path;
}

export function formatPath(path: readonly number[]): string {
  return path.join('.');
}

export class Exploration {
  readonly model: ChainModel;
  private readonly root: PathNode;
  /** Path text -> node; a Map iterates in insertion order, so the first key is the least recently used. */
  private readonly nodes = new Map<string, PathNode>();

  constructor(readonly check: CheckConfig) {
    this.model = new ChainModel(check);
    const state = this.model.initialState();
    const violations = this.model.invariants(state).map((v) => ({ property: v.property, message: v.message }));
    const firstBroken = new Map<string, Broken>();
    for (const v of violations) if (!firstBroken.has(v.property)) firstBroken.set(v.property, { step: 0, message: v.message });
    this.root = { state, before: null, steps: [], depth: 0, violations, firstBroken, covered: new Map() };
  }

  /** The properties shown: the spec's safety and liveness properties, then the model's sometimes properties. */
  propertyList(): PropertyInfo[] {
    const list: PropertyInfo[] = properties.map((p) => ({ id: p.id, kind: p.kind, title: p.title, text: p.text }));
    for (const s of this.model.sometimes) list.push({ id: s.id, kind: 'sometimes', title: s.id, text: s.description });
    return list;
  }

  /** The step from `node` by the action at `index`, or a PathError saying why it cannot be taken. */
  private stepFrom(node: PathNode, index: number): PathNode {
    const actions = this.model.actions(node.state);
    const action = actions[index];
    if (action === undefined) {
      throw new PathError(`step ${node.depth + 1}: action ${index} is not enabled (${actions.length} actions are enabled here: 0 to ${actions.length - 1})`);
    }
    let next;
    try {
      next = this.model.next(node.state, action);
    } catch (error) {
      throw new PathError(`step ${node.depth + 1}: the model cannot take "${this.model.describe(action)}": ${(error as Error).message}`);
    }
    const depth = node.depth + 1;
    const violations = [...next.violations, ...this.model.invariants(next.state)].map((v) => ({ property: v.property, message: v.message }));
    let firstBroken = node.firstBroken;
    for (const v of violations) {
      if (firstBroken.has(v.property)) continue;
      if (firstBroken === node.firstBroken) firstBroken = new Map(firstBroken);
      (firstBroken as Map<string, Broken>).set(v.property, { step: depth, message: v.message });
    }
    let covered = node.covered;
    for (const s of this.model.sometimes) {
      if (covered.has(s.id) || !s.holds(next.state, action)) continue;
      if (covered === node.covered) covered = new Map(covered);
      (covered as Map<string, number>).set(s.id, depth);
    }
    return { state: next.state, before: node.state, steps: [...node.steps, this.model.describe(action)], depth, violations, firstBroken, covered };
  }

  /** The node at the end of `path`, walking from the longest prefix kept. */
  private nodeAt(path: readonly number[]): PathNode {
    let known = path.length;
    let node: PathNode | undefined;
    for (; known > 0; known--) {
      node = this.nodes.get(formatPath(path.slice(0, known)));
      if (node !== undefined) break;
    }
    let at = node ?? this.root;
    this.touch(formatPath(path.slice(0, known)), at);
    for (let i = known; i < path.length; i++) {
      at = this.stepFrom(at, path[i] as number);
      this.touch(formatPath(path.slice(0, i + 1)), at);
    }
    assert(at.depth === path.length, `the node of a path of ${path.length} steps has depth ${at.depth}`);
    return at;
  }

  private touch(key: string, node: PathNode): void {
    if (node === this.root) return;
    this.nodes.delete(key);
    this.nodes.set(key, node);
    while (this.nodes.size > statesCachedMax) {
      const oldest = this.nodes.keys().next().value as string;
      this.nodes.delete(oldest);
    }
  }

  /** The state at the end of `path` (throws PathError when a step is not enabled). */
  stateAt(path: readonly number[]): ChainState {
    return this.nodeAt(path).state;
  }

  /** What `GET /api/state` answers for `path`. */
  describePath(path: readonly number[]): StateResponse {
    const node = this.nodeAt(path);
    const view = stateView(this.check, node.state, node.before);
    const { changed, removed } = node.before === null ? { changed: [], removed: [] } : differences(cellsOf(stateView(this.check, node.before, null)), cellsOf(view));
    assert(node.steps.length === path.length, `a path of ${path.length} steps described in ${node.steps.length}`);
    return { path: [...path], steps: node.steps, state: view, changed, removed, actions: this.actionViews(node), properties: this.propertyStatus(node) };
  }

  /** The enabled actions, each with the properties it would break. */
  private actionViews(node: PathNode): ActionView[] {
    return this.model.actions(node.state).map((action, index) => {
      let breaks: string[];
      let failure: string | null = null;
      try {
        const next = this.model.next(node.state, action);
        breaks = [...new Set([...next.violations, ...this.model.invariants(next.state)].map((v) => v.property))];
      } catch (error) {
        breaks = [];
        failure = (error as Error).message;
      }
      let message: string | null = null;
      if (action.kind === 'deliver' || action.kind === 'deliverStale' || action.kind === 'dropStale') {
        const channel = node.state.world.links[action.link]?.[action.direction];
        const head = action.kind === 'deliver' ? channel?.current[0] : channel?.stale[0];
        if (head !== undefined) message = messageLabel(head);
      }
      return { index, kind: action.kind, description: this.model.describe(action), message, breaks, failure };
    });
  }

  private propertyStatus(node: PathNode): PropertyStatus[] {
    const statuses: PropertyStatus[] = [];
    for (const id of safetyInvariantIds) {
      const now = node.violations.find((v) => v.property === id);
      const first = node.firstBroken.get(id);
      if (now !== undefined) statuses.push({ id, status: 'broken', step: node.depth, message: now.message });
      else if (first !== undefined) statuses.push({ id, status: 'broken earlier', step: first.step, message: first.message });
      else statuses.push({ id, status: 'holds', step: null, message: null });
    }
    for (const id of livenessPropertyIds) {
      if (id === this.model.goalProperty) {
        const converged = this.model.goal(node.state);
        statuses.push({ id, status: converged ? 'converged' : 'not converged', step: null, message: null });
      } else statuses.push({ id, status: 'whole runs only', step: null, message: 'judged over whole runs by kd check, not in one state' });
    }
    for (const s of this.model.sometimes) {
      const step = node.covered.get(s.id);
      statuses.push({ id: s.id, status: step === undefined ? 'not covered' : 'covered', step: step ?? null, message: null });
    }
    return statuses;
  }
}
