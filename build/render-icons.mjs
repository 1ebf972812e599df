#!/usr/bin/env node
// Renders build/icon.svg to the PNGs electron-builder and the tray use, with playwright-core
// driving the system's Chromium (never a downloaded browser):
//   node build/render-icons.mjs [/path/to/chromium]     (default /usr/bin/chromium)
// Outputs: build/icon.png (512, macOS/Windows: converted to .icns/.ico), build/icons/512x512.png
// and 256x256.png (Linux), build/tray.png (16) and build/tray@2x.png (32).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const dir = new URL('./', import.meta.url);
const svg = readFileSync(new URL('icon.svg', dir), 'utf8');
const outputs = [
  [512, 'icon.png'], [512, 'icons/512x512.png'], [256, 'icons/256x256.png'],
  [16, 'tray.png'], [32, 'tray@2x.png'],
];
mkdirSync(new URL('icons/', dir), { recursive: true });
const browser = await chromium.launch({
  executablePath: process.argv[2] ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  for (const [size, name] of outputs) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    const sized = svg.replace('width="512" height="512"', `width="${size}" height="${size}"`);
    await page.setContent(`<html><body style="margin:0;background:transparent">${sized}</body></html>`);
    const png = await page.screenshot({ omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    writeFileSync(new URL(name, dir), png);
    await page.close();
    console.log(`build/${name} (${size}×${size})`);
  }
} finally {
  await browser.close();
}
