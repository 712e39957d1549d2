// Plays a recording in asciinema-player inside headless Chromium (Debian's /usr/bin/chromium,
// never a downloaded browser) and prints what the player's terminal shows at the end, as JSON:
//   {"ended": true, "duration": 1.5, "text": "..."}
// Usage: node check_player.mjs page FILE.html     an html export (it creates its own player)
//        node check_player.mjs cast FILE.cast     a cast, given to the bundled player as data
// The browser runs with a fresh profile directory and no network access is needed.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [mode, file] = process.argv.slice(2);
if (!['page', 'cast'].includes(mode) || !file) {
  console.error('usage: node check_player.mjs page|cast FILE');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'node_modules/asciinema-player/dist/bundle');
const profile = mkdtempSync(join(tmpdir(), 'podtape-chromium-'));
let browser;
try {
  // A persistent context is how playwright takes a --user-data-dir: here a fresh one.
  browser = await chromium.launchPersistentContext(join(profile, 'user-data'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60000,
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  let url;
  if (mode === 'page') {
    url = pathToFileURL(resolve(file)).href;
  } else {
    const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>${
      readFileSync(join(dist, 'asciinema-player.css'), 'utf8')}</style></head><body>
      <div id="player"></div><script>${readFileSync(join(dist, 'asciinema-player.min.js'), 'utf8')}</script>
      </body></html>`;
    const pagePath = join(profile, 'cast.html');
    writeFileSync(pagePath, html);
    url = pathToFileURL(pagePath).href;
  }
  await page.goto(url, { waitUntil: 'load', timeout: 60000 });
  if (mode === 'cast') {
    const cast = readFileSync(file, 'utf8');
    await page.evaluate((data) => {
      window.podtapePlayer = AsciinemaPlayer.create({ data }, document.getElementById('player'));
    }, cast);
  }
  const result = await page.evaluate(() => new Promise((done) => {
    const p = window.podtapePlayer;
    const timer = setTimeout(() => done({ ended: false }), 45000);
    p.addEventListener('ended', () => {
      clearTimeout(timer);
      // Let the last frame render before reading the terminal.
      setTimeout(() => done({ ended: true, duration: p.getDuration() }), 300);
    });
    p.play();
  }));
  result.text = await page.evaluate(() => {
    const term = document.querySelector('.ap-term') || document.querySelector('.ap-player');
    return term ? term.innerText : '';
  });
  result.errors = errors;
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (e) {
  console.error(`check_player: ${e.message.split('\n')[0]}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
