/**
 * The page of the explorer: one HTML shell, its stylesheet and its script, the script
 * bundled from explorer/client/ by esbuild when the server starts (in memory, nothing
 * written). Everything is served by the explorer itself: the page loads nothing from
 * anywhere else, so it works offline.
 */
import { readFileSync } from 'node:fs';
import { repositoryPath } from '../runtime/repository-paths.js';

export interface ClientAssets {
  readonly html: string;
  readonly script: string;
  readonly stylesheet: string;
}

const shell = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kd explore</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
</head>
<body data-ready="no">
<main id="app"><p>Loading the model...</p></main>
<script src="/app.js"></script>
</body>
</html>
`;

export async function buildClientAssets(): Promise<ClientAssets> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [repositoryPath('explorer', 'client', 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  const script = result.outputFiles[0]?.text;
  if (script === undefined) throw new Error('esbuild produced no bundle for explorer/client/main.ts');
  return { html: shell, script, stylesheet: readFileSync(repositoryPath('explorer', 'client', 'explorer.css'), 'utf8') };
}
