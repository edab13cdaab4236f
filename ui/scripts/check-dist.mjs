// Checks the built page against what Tauri's CSP (`default-src 'self'`) and
// an offline app allow, and prints what was built with its sizes.
// Run by `npm run build` after `vite build`; exits non-zero on a problem.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
/** @type {string[]} */
const problems = [];

/** @param {string} dir @returns {string[]} */
function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const all = files(dist);
const html = readFileSync(join(dist, 'index.html'), 'utf8');

for (const tag of html.match(/<script\b[^>]*>/g) ?? []) {
  if (!/\ssrc=/.test(tag)) problems.push(`index.html: inline script ${tag}`);
  if (/type="module"/.test(tag)) problems.push(`index.html: module script (refused from file://) ${tag}`);
}
if (/<style\b/.test(html)) problems.push('index.html: inline <style>');
if (/\sstyle=/.test(html)) problems.push('index.html: style attribute');
if (/\son[a-z]+=/.test(html)) problems.push('index.html: inline event handler');
for (const [, url] of html.matchAll(/\s(?:src|href)="([^"]+)"/g)) {
  if (!url?.startsWith('./')) problems.push(`index.html: non-relative or external reference ${url}`);
}

for (const path of all.filter((p) => p.endsWith('.js'))) {
  const code = readFileSync(path, 'utf8');
  if (/\beval\(|new Function\(/.test(code)) problems.push(`${relative(dist, path)}: eval or new Function`);
  if (/\bimport\(/.test(code)) problems.push(`${relative(dist, path)}: dynamic import (the page must be one classic script)`);
}
for (const path of all.filter((p) => p.endsWith('.css'))) {
  const css = readFileSync(path, 'utf8');
  for (const [, url] of css.matchAll(/url\(\s*['"]?([^'")]+)/g)) {
    if (/^(https?:)?\/\//.test(url ?? '')) problems.push(`${relative(dist, path)}: external url(${url})`);
  }
  if (/@import/.test(css)) problems.push(`${relative(dist, path)}: @import`);
}

let total = 0;
let totalGz = 0;
for (const path of all.sort()) {
  const bytes = readFileSync(path);
  const gz = gzipSync(bytes).length;
  total += bytes.length;
  totalGz += gz;
  console.log(`${relative(dist, path).padEnd(36)} ${(bytes.length / 1024).toFixed(1).padStart(7)} kB  gzip ${(gz / 1024).toFixed(1).padStart(6)} kB`);
}
console.log(`${'total'.padEnd(36)} ${(total / 1024).toFixed(1).padStart(7)} kB  gzip ${(totalGz / 1024).toFixed(1).padStart(6)} kB`);

if (problems.length > 0) {
  console.error(`\ndist/ breaks the page's rules:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('dist/: no inline script or style, no eval, no external reference');
