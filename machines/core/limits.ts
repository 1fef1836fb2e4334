/**
 * The limits the machines use. Every limit is defined once, in spec/limits.ts (with
 * the assertions of their relations); this module only re-exports the ones used here.
 */
export { creationWindowPodsMax, desiredMax, functionNameLengthMax, incarnationMax, nodeCapacityMax, podNameLengthMax, podOrdinalMax, scaleSetsEntriesMax, sessionsPerIncarnationMax, stagePodsMax } from '../../spec/limits.js';
