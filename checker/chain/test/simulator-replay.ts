/**
 * A counterexample of the checker re-executed by the simulator: the same actions from the
 * same boot (the preset's booted chain when it starts synced). Tests use it to show that a
 * safety counterexample is a real path of the protocol, not an artefact of the checker.
 */
import { replay } from '../../../simulator/simulate.js';
import { bootSequence, type WorldAction } from '../../../simulator/world.js';
import type { CheckConfig } from '../presets.js';

/** The properties the simulator reports broken along the counterexample's actions. */
export function propertiesBrokenInSimulator(config: CheckConfig, steps: ReadonlyArray<{ readonly action: WorldAction }>): string[] {
  const boot = config.startSynced === true ? bootSequence(config.chain).actions : [];
  return replay(config.chain, [...boot, ...steps.map((s) => s.action)]).violations.map((v) => v.property);
}
