/**
 * The machine-readable specification: properties, known-bad variants,
 * requirements and limits. The normative prose is in spec/*.md.
 */
export * from './properties.js';
export * from './variants.js';
export * from './requirements.js';
export * from './limits.js';
