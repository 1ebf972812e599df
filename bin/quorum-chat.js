#!/usr/bin/env node
// The `quorum-chat` command. Runs dist/cli/index.js, the sources bundled by `npm run build:cli`
// (npm ci makes it), while no source is newer than it; otherwise, or with QC_FROM_SOURCES=1,
// the TypeScript sources themselves through tsx's hooks (0.4 s slower to start).
import { pathToFileURL } from 'node:url';
import { cliBundle, cliIsStale } from '../scripts/build-app.mjs';

const fromSources = process.env.QC_FROM_SOURCES === '1' || cliIsStale();
const { main } = fromSources ? await importSources() : await import(pathToFileURL(cliBundle).href);
await main(process.argv);

async function importSources() {
  const { register } = await import('tsx/esm/api');
  register();
  return import('../main/cli/index.ts');
}
