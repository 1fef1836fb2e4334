/**
 * The site's Mermaid bundle: Mermaid with the ELK layout engine (`@mermaid-js/layout-elk`)
 * registered, built by esbuild into one classic script. ELK lays out the state diagrams
 * with orthogonal edges and places each label on its own edge, where Mermaid's default
 * layout (dagre) let labels overlap and drift from their edges. The layout package ships
 * only ES modules with dynamic imports, which a page opened straight from disk cannot load;
 * bundled into one script it works offline from `file://` too.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const entry = fileURLToPath(new URL('mermaid-bundle-entry.mjs', import.meta.url));

/** Writes the bundle (`window.mermaid`, with the `elk` layout registered) to `outFile`. */
export async function writeMermaidBundle(outFile: string): Promise<void> {
  const result = await build({ entryPoints: [entry], bundle: true, format: 'iife', platform: 'browser', minify: true, outfile: outFile, logLevel: 'silent' });
  if (result.errors.length > 0) throw new Error(`the Mermaid bundle could not be built: ${result.errors.map((e) => e.text).join('; ')}`);
}
