/**
 * INV-NO-INVENTED-POD, judged on every distinct machine step of the model: a step's result
 * (its state, the messages it sends, the effects it asks for) names only pods that its
 * state and event named, that it creates (a `decide.create` trace point of the
 * ReplicaSet), or forged ones (the forgedPod fault). A pod name enters the protocol only
 * where the ReplicaSet creates it; a stage that names a pod nobody told it about (a typo
 * in a name, a name computed instead of read, a sandbox reported under another name) is
 * this violation, with the counterexample that leads to the step.
 *
 * The ghost forgetting of DEC-58 is exact because of this property: a pod that nothing
 * names any more can come back only through a creation, which INV-NAME-UNIQUE reports.
 * The property is checked with and without the abstraction, so both give the same verdict.
 */
import { InvariantViolation, type ChainConfig, type StageEvent, type StageState, type StepResult } from '../../machines/index.js';
import { isForgedPodName } from '../../simulator/forged-pods.js';

/** The start of the assertion's message: simulator/assertion-properties.ts maps it to INV-NO-INVENTED-POD. */
export const inventedPodMessageStart = 'a stage names a pod it was never told of';

/** The pod names of `config`'s functions (`FUNCTION-EPOCH-ORDINAL`) among the strings of a JSON text. */
export class PodNames {
  private readonly podName: RegExp;

  constructor(config: ChainConfig) {
    const functions = config.functions.map((f) => f.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    this.podName = new RegExp(`^(?:${functions})-\\d+-\\d+$`);
  }

  /** The pod names among the strings (keys and values) of a JSON text. */
  inText(text: string): Set<string> {
    const names = new Set<string>();
    for (const match of text.matchAll(/"((?:[^"\\]|\\.)*)"/g)) if (this.podName.test(match[1] as string)) names.add(match[1] as string);
    return names;
  }
}

export class InventedPodCheck {
  private readonly names: PodNames;
  /** Step results already judged (each distinct step once; the stepper memoizes results). */
  private readonly checked = new WeakSet<object>();

  constructor(config: ChainConfig) {
    this.names = new PodNames(config);
  }

  /** Throws an InvariantViolation (reported as INV-NO-INVENTED-POD) when the step names a pod its input did not and it did not create. */
  checkStep(before: StageState, event: StageEvent, result: StepResult<StageState>): void {
    if (this.checked.has(result)) return;
    const known = this.names.inText(JSON.stringify([before, event]));
    const created = new Set<string>();
    for (const point of result.trace) if (point.event === 'decide.create') created.add(point.pod);
    for (const name of this.names.inText(JSON.stringify([result.state, result.effects, result.links])))
      if (!known.has(name) && !created.has(name) && !isForgedPodName(name))
        throw new InvariantViolation(`${inventedPodMessageStart}: a ${before.role} step on ${event.type} names pod ${name}, which neither its state nor its event named, and it did not create it`);
    // Marked only once it passed: a caller that swallows the error (tie-choices.ts) must not make the next call pass.
    this.checked.add(result);
  }
}
