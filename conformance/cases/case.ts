/**
 * A conformance case: an ID, the requirements it checks (spec/requirements.ts), the
 * roles it applies to, and what it does. A case is *required* when every requirement
 * it checks is a MUST, *recommended* otherwise (spec/11 §Verdicts).
 */
import { requirements } from '../../spec/requirements.js';
import type { Role } from '../../machines/index.js';
import type { CaseContext } from '../harness/context.js';
import type { PeerChain } from '../harness/peer-chain.js';

export interface ChainShape {
  readonly functions: ReadonlyArray<{ readonly name: string; readonly priority: number }>;
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly capacity: number }>;
}

export interface ConformanceCase {
  /** `<role>.<what>`, stable: never reused for another meaning. */
  readonly id: string;
  readonly roles: readonly Role[];
  readonly requirements: readonly string[];
  readonly title: string;
  /** What the suite does and what it expects, for the index and the implementer. */
  readonly description: string;
  /** The case kills and restarts the testee (skipped with --attach). */
  readonly restartsTestee?: boolean;
  /** The chain the testee is configured with; the role's default otherwise. */
  readonly chain?: ChainShape;
  /** The testee's simulated sandbox delays (Kubelets). */
  readonly sandbox?: { readonly startDelayMs: number; readonly killDelayMs: number };
  /** How long the case may take before it is a failure (default 20 s). */
  readonly timeoutMs?: number;
  /** Called before the testee starts (e.g. to hold a link so the testee starts cold). */
  setup?(chain: PeerChain): void;
  run(ctx: CaseContext): Promise<void>;
}

export type CaseLevel = 'required' | 'recommended';

const levels = new Map(requirements.map((r) => [r.id, r.level]));

export function levelOf(c: ConformanceCase): CaseLevel {
  return c.requirements.every((id) => levels.get(id) === 'MUST') ? 'required' : 'recommended';
}

/** The role's default chain: the testee's neighbours are small and fast. */
export function defaultChain(role: Role): ChainShape {
  switch (role) {
    case 'kubelet':
      return { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 4 }] };
    case 'scheduler':
      return { functions: [{ name: 'fn', priority: 0 }, { name: 'hi', priority: 10 }], nodes: [{ name: 'n1', capacity: 2 }, { name: 'n2', capacity: 2 }] };
    default:
      return { functions: [{ name: 'fn', priority: 0 }, { name: 'g', priority: 0 }], nodes: [{ name: 'n1', capacity: 4 }, { name: 'n2', capacity: 4 }] };
  }
}
