/**
 * Lifecycle machines name their actions; drivers never run the implementations
 * (the pure `transition()` returns the names and the stage turns each into effects),
 * so every implementation is this empty function.
 */
export function namedActions<const A extends string>(names: readonly A[]): Record<A, () => void> {
  const actions = {} as Record<A, () => void>;
  for (const name of names) actions[name] = () => undefined;
  return actions;
}
