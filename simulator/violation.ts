/** A property broken at a step or in a state: which one, and what broke it in words. */
import type { PropertyId } from '../spec/properties.js';

export interface Violation {
  readonly property: PropertyId;
  readonly message: string;
}
