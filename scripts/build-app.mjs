#!/usr/bin/env node
// `npm run build:app`: builds the UI (`npm run build:ui` → renderer/dist) and bundles the
// Electron shell with esbuild: main/app/main.ts → dist/app/main.js (ESM; every npm package
// stays external and is loaded from node_modules, which the packaged app ships) and
// main/app/preload.ts → dist/app/preload.cjs (CommonJS, requiring only 'electron', as a
// sandboxed preload must). Flags: --skip-ui, --out DIR (default dist/app);
// --cli builds only the command-line bundle.
// `npm run build:cli` (run by npm ci, as `prepare`) bundles the command line the same way:
// main/cli/index.ts → dist/cli/index.js, which bin/quorum-chat.js runs while it is newer than
// every source (loading the TypeScript through tsx took 0.7 s of each start, the bundle 0.3 s).
// Also a module: bin/quorum-chat.js, scripts/start.mjs and test/electron/ use the helpers below.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const appOut = join(root, 'dist', 'app');
export const uiOut = join(root, 'renderer', 'dist');
/** The bundled command line. Two folders deep, like main/cli/: its relative paths (proto/, bin/, renderer/dist) hold. */
export const cliBundle = join(root, 'dist', 'cli', 'index.js');

/** The newest modification time (ms) of the files under `dirs`, skipping build output. */
function newest(dirs) {
  let max = 0;
  const walk = (path) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) {
        if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
        walk(join(path, name));
      }
    } else if (stat.mtimeMs > max) {
      max = stat.mtimeMs;
    }
  };
  for (const dir of dirs) walk(dir);
  return max;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** True when renderer/dist is missing or older than the UI's sources. */
export function uiIsStale() {
  const built = mtime(join(uiOut, 'index.html'));
  return built < 0 || newest([join(root, 'renderer'), join(root, 'common')]) > built;
}

/** True when dist/app is missing or older than the sources it bundles. */
export function appIsStale(outDir = appOut) {
  return olderThanMainSources(Math.min(mtime(join(outDir, 'main.js')), mtime(join(outDir, 'preload.cjs'))));
}

/** True when the command-line bundle is missing or older than the sources it bundles. */
export function cliIsStale(bundle = cliBundle) {
  return olderThanMainSources(mtime(bundle));
}

/** A build made at `built` (-1: none) misses a change to main/ or common/. */
function olderThanMainSources(built) {
  return built < 0 || newest([join(root, 'main'), join(root, 'common')]) > built;
}

/** `npm run build:ui`; throws when it fails. */
export function buildUi() {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', '--silent', 'build:ui'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) throw new Error(`npm run build:ui failed (exit ${result.status ?? result.signal})`);
}

// esbuild comes with tsx (a dependency), so it is there after every `npm ci`.
const bundleOptions = {
  bundle: true,
  sourcemap: true,
  logLevel: 'warning',
  tsconfig: join(root, 'tsconfig.json'),
  absWorkingDir: root,
};

/** Bundles main/cli/index.ts into `bundle` (npm packages stay external, as for the app). */
export async function buildCliBundle(bundle = cliBundle) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    ...bundleOptions,
    entryPoints: [join(root, 'main', 'cli', 'index.ts')],
    outfile: bundle,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
  });
}

/** Bundles main.js and preload.cjs into `outDir`. */
export async function buildAppBundles(outDir = appOut) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    ...bundleOptions,
    entryPoints: [join(root, 'main', 'app', 'main.ts')],
    outfile: join(outDir, 'main.js'),
    platform: 'node',
    format: 'esm',
    target: 'node22', // Electron 45 runs Node 22
    // npm packages (electron, better-sqlite3 and its .node, @grpc/*, bonjour-service, pino…)
    // load from node_modules at run time: native modules and package-relative files keep working.
    packages: 'external',
  });
  await esbuild.build({
    ...bundleOptions,
    entryPoints: [join(root, 'main', 'app', 'preload.ts')],
    outfile: join(outDir, 'preload.cjs'),
    platform: 'browser',
    format: 'cjs',
    target: 'chrome140',
    external: ['electron'],
  });
}

/**
 * Where an Electron binary is, without ever downloading one (require('electron') would try):
 * ELECTRON_OVERRIDE_DIST_PATH, else node_modules/electron/dist as path.txt names it.
 * Returns { path } or { missing: reason }.
 */
export function electronBinary() {
  const pkg = join(root, 'node_modules', 'electron');
  const pathTxt = join(pkg, 'path.txt');
  const relative = existsSync(pathTxt) ? readFileSync(pathTxt, 'utf8').trim() : null;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const candidates = relative === null ? ['electron', 'electron.exe', 'Electron.app/Contents/MacOS/Electron'] : [relative];
    for (const name of candidates) {
      const path = resolve(override, name);
      if (existsSync(path)) return { path };
    }
    return { missing: `ELECTRON_OVERRIDE_DIST_PATH=${override} holds no Electron executable` };
  }
  if (!existsSync(pkg)) return { missing: 'node_modules/electron is not installed (run npm ci)' };
  if (relative === null) return { missing: "Electron's binary is not installed here: node_modules/electron has no path.txt (its install script, which downloads the binary, did not run)" };
  const path = join(pkg, 'dist', relative);
  if (!existsSync(path)) return { missing: `Electron's binary is not installed here: ${path} does not exist` };
  return { path };
}

async function main(argv) {
  if (argv.includes('--cli')) {
    await buildCliBundle();
    console.log(`built ${cliBundle}`);
    return;
  }
  const skipUi = argv.includes('--skip-ui');
  const outIndex = argv.indexOf('--out');
  const outDir = outIndex >= 0 && argv[outIndex + 1] ? resolve(argv[outIndex + 1]) : appOut;
  if (!skipUi) buildUi();
  await buildAppBundles(outDir);
  console.log(`built ${join(outDir, 'main.js')} and ${join(outDir, 'preload.cjs')}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
