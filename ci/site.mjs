// The last steps of `ci/dist` on Trunk's output, and the numbers it reports:
//
//   node ci/site.mjs finish DIST [--build-id ID] [--raw-wasm FILE] [--report FILE]
//       stamps the build id and the list of shell files into DIST/sw.js and DIST/index.html,
//       writes precompressed .br and .gz siblings, prints the size table (and, given cargo's
//       un-optimised wasm with its name section, what each crate costs) and writes it as JSON.
//   node ci/site.mjs stamp DIST [--build-id ID]
//       only the stamp: a second "deploy" of the same files under another build id (tests).
//
// Node's own zlib does gzip and brotli: nothing to install.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** What the browser downloads before any model weight: the budget of the hosted page. */
export const APP_BUDGET_BYTES = 4 * 1000 * 1000;
const COMPRESSIBLE = /\.(wasm|js|mjs|css|html|json|svg|txt|md)$/;
/** The app itself, as counted against the budget. */
const APP_FILE = /\.(wasm|js|css)$/;
const isModelFile = (rel) => rel.startsWith('static/models/');

function walk(dir, base = dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full, base) : [path.relative(base, full).split(path.sep).join('/')];
  });
}

/** The files of the site that the service worker keeps: all but sw.js, compressed siblings and models. */
export function shellFiles(dist) {
  return walk(dist)
    .filter((rel) => !/\.(br|gz)$/.test(rel) && rel !== 'sw.js' && rel !== 'static/sw.js' && !isModelFile(rel))
    .sort();
}

const META = /(<meta name="patchbay-build" content=")[^"]*(")/;

/** An id of the build's files: equal builds get equal ids, so users are not asked to update for nothing. */
function buildIdOf(dist, files) {
  const hash = crypto.createHash('sha256');
  for (const rel of files) {
    let bytes = fs.readFileSync(path.join(dist, rel));
    if (rel === 'index.html') bytes = Buffer.from(bytes.toString().replace(META, '$1dev$2'));
    hash.update(`${rel}\0${crypto.createHash('sha256').update(bytes).digest('hex')}\n`);
  }
  return hash.digest('hex').slice(0, 12);
}

export function stamp(dist, buildId) {
  fs.rmSync(path.join(dist, 'static/sw.js'), { force: true }); // the worker lives beside index.html only
  const files = shellFiles(dist);
  const id = buildId ?? buildIdOf(dist, files);
  const index = path.join(dist, 'index.html');
  const html = fs.readFileSync(index, 'utf8');
  if (!META.test(html)) throw new Error('index.html has no <meta name="patchbay-build">');
  fs.writeFileSync(index, html.replace(META, `$1${id}$2`));
  const sw = path.join(dist, 'sw.js');
  const listed = files.map((rel) => (rel === 'index.html' ? './' : rel));
  let worker = fs.readFileSync(sw, 'utf8');
  const build = /^const BUILD = '[^']*';$/m;
  const shell = /^const SHELL_FILES = \[.*\];$/m;
  if (!build.test(worker) || !shell.test(worker)) throw new Error('sw.js lacks the BUILD or SHELL_FILES line');
  worker = worker.replace(build, `const BUILD = '${id}';`).replace(shell, `const SHELL_FILES = ${JSON.stringify(listed)};`);
  fs.writeFileSync(sw, worker);
  return id;
}

/** Writes `.gz` (level 9) and `.br` (quality 11) beside every text or wasm file of the app. */
export function compress(dist) {
  for (const rel of walk(dist)) {
    if (!COMPRESSIBLE.test(rel) || isModelFile(rel)) continue;
    const file = path.join(dist, rel);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(bytes, { level: 9 }));
    fs.writeFileSync(
      `${file}.br`,
      zlib.brotliCompressSync(bytes, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
          [zlib.constants.BROTLI_PARAM_MODE]: rel.endsWith('.wasm') ? zlib.constants.BROTLI_MODE_GENERIC : zlib.constants.BROTLI_MODE_TEXT,
        },
      }),
    );
  }
}

const size = (file) => (fs.existsSync(file) ? fs.statSync(file).size : null);

export function sizeTable(dist) {
  const rows = walk(dist)
    .filter((rel) => APP_FILE.test(rel) && !isModelFile(rel))
    .map((rel) => {
      const file = path.join(dist, rel);
      return { file: rel, raw: size(file), gzip: size(`${file}.gz`), brotli: size(`${file}.br`) };
    });
  const total = (key) => rows.reduce((sum, row) => sum + (row[key] ?? row.raw), 0);
  return { files: rows, total: { raw: total('raw'), gzip: total('gzip'), brotli: total('brotli') }, budget: APP_BUDGET_BYTES };
}

// --- What each crate costs: the code section of cargo's wasm, by the crate in each function's name.

function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

/** Sections of a wasm module: `{id, name?, start, end}` (start: the first byte of the content). */
function sections(bytes) {
  const out = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    let length;
    [length, at] = leb(bytes, at + 1);
    const end = at + length;
    let name;
    if (id === 0) {
      let n;
      [n, at] = leb(bytes, at);
      name = bytes.subarray(at, at + n).toString();
      at += n;
    }
    out.push({ id, name, start: at, end });
    at = end;
  }
  return out;
}

/** The crate a (legacy-mangled, or plain) Rust symbol comes from; generic code counts for the crate that defines it. */
export function crateOf(symbol) {
  if (!symbol.startsWith('_ZN')) return symbol.startsWith('__wbg') || symbol.startsWith('__wbindgen') ? 'wasm-bindgen (glue)' : '(other)';
  const match = /^_ZN(\d+)/.exec(symbol);
  let first = symbol.slice(match[0].length, match[0].length + Number(match[1]));
  first = first.replace(/^_?\$LT\$/, '').replace(/^impl\$u20\$/, '').replace(/^\$RF\$/, '').replace(/^mut\$u20\$/, '');
  const crate = first.split('..')[0].replace(/\$.*$/, '');
  return crate || '(other)';
}

/** Crates by what they are for, so that the size table says where the bytes go. */
const FAMILIES = [
  ['cubecl: the GPU kernel compiler that runs in the browser (cubecl, cubek, pliron, combine, rustc_apfloat)', /^(cubecl|cubek|pliron|combine|rustc_apfloat)/],
  ['burn (tensors, autodiff, the CPU backend flex, gemm)', /^(burn|gemm|macerator|pulp|aligned_vec)/],
  ['wgpu and the browser bindings (wgpu, web-sys, js-sys, wasm-bindgen)', /^(wgpu|naga|web_sys|js_sys|wasm_bindgen|wasm-bindgen)/],
  ['Leptos (the UI)', /^(leptos|tachys|reactive_graph|reactive_stores|either_of|any_spawner|server_fn|throw_error|oco_ref|next_tuple|send_wrapper|or_poisoned|hydration_context|guardian)/],
  ['tokenizers and regex', /^(tokenizers|regex|fancy_regex|aho_corasick|unicode|monostate|esaxx|spm_precompiled|dary_heap|onig)/],
  ['serde and JSON', /^serde/],
  ['Rust std and generic code instantiated for other crates (core, alloc, hashbrown)', /^(core|alloc|std|hashbrown|T)$/],
  ['patchbay', /^patchbay$/],
];

export function familyOf(crate) {
  return FAMILIES.find(([, pattern]) => pattern.test(crate))?.[0] ?? 'other crates';
}

export function crateSizes(wasmFile) {
  const bytes = fs.readFileSync(wasmFile);
  const parts = sections(bytes);
  const imported = (() => {
    const section = parts.find((s) => s.id === 2);
    if (!section) return 0;
    let [count, at] = leb(bytes, section.start);
    let functions = 0;
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < 2; j++) {
        let n;
        [n, at] = leb(bytes, at);
        at += n;
      }
      const kind = bytes[at++];
      if (kind === 0) { [, at] = leb(bytes, at); functions++; }
      else if (kind === 1) { at += 1; const flags = bytes[at++]; [, at] = leb(bytes, at); if (flags & 1) [, at] = leb(bytes, at); }
      else if (kind === 2) { const flags = bytes[at++]; [, at] = leb(bytes, at); if (flags & 1) [, at] = leb(bytes, at); }
      else if (kind === 3) at += 2;
      else if (kind === 4) { at += 1; [, at] = leb(bytes, at); }
    }
    return functions;
  })();
  const names = new Map();
  const nameSection = parts.find((s) => s.id === 0 && s.name === 'name');
  if (nameSection) {
    let at = nameSection.start;
    while (at < nameSection.end) {
      const sub = bytes[at];
      let length;
      [length, at] = leb(bytes, at + 1);
      if (sub === 1) {
        let [count, p] = leb(bytes, at);
        for (let i = 0; i < count; i++) {
          let index, n;
          [index, p] = leb(bytes, p);
          [n, p] = leb(bytes, p);
          names.set(index, bytes.subarray(p, p + n).toString());
          p += n;
        }
      }
      at += length;
    }
  }
  const byCrate = new Map();
  const code = parts.find((s) => s.id === 10);
  let [count, at] = leb(bytes, code.start);
  for (let i = 0; i < count; i++) {
    let length;
    [length, at] = leb(bytes, at);
    const crate = crateOf(names.get(imported + i) ?? '');
    byCrate.set(crate, (byCrate.get(crate) ?? 0) + length);
    at += length;
  }
  const data = parts.filter((s) => s.id === 11).reduce((sum, s) => sum + s.end - s.start, 0);
  const custom = parts.filter((s) => s.id === 0).reduce((sum, s) => sum + s.end - s.start, 0);
  const crates = [...byCrate].map(([crate, bytes]) => ({ crate, bytes })).sort((a, b) => b.bytes - a.bytes);
  const byFamily = new Map();
  for (const { crate, bytes } of crates) byFamily.set(familyOf(crate), (byFamily.get(familyOf(crate)) ?? 0) + bytes);
  const families = [...byFamily].map(([family, bytes]) => ({ family, bytes })).sort((a, b) => b.bytes - a.bytes);
  return { file: wasmFile, total: bytes.length, code: code.end - code.start, data, custom, named: names.size > 0, families, crates };
}

const kb = (n) => (n == null ? '-' : `${(n / 1024).toFixed(0)} KiB`);

function printReport(report) {
  const lines = [`build ${report.build}`, 'file | raw | gzip | brotli'];
  for (const f of report.site.files) lines.push(`${f.file} | ${kb(f.raw)} | ${kb(f.gzip)} | ${kb(f.brotli)}`);
  const t = report.site.total;
  lines.push(`app total (wasm+JS+CSS) | ${kb(t.raw)} | ${kb(t.gzip)} | ${kb(t.brotli)}  (budget ${kb(report.site.budget)} brotli)`);
  if (report.crates) {
    lines.push(`cargo's wasm before wasm-bindgen and wasm-opt: ${kb(report.crates.total)} (code ${kb(report.crates.code)}, data ${kb(report.crates.data)}, names and other custom sections ${kb(report.crates.custom)})`);
    for (const f of report.crates.families) lines.push(`  ${f.family} | ${kb(f.bytes)}`);
    lines.push('largest crates:');
    for (const c of report.crates.crates.slice(0, 15)) lines.push(`  ${c.crate} | ${kb(c.bytes)}`);
  }
  console.log(lines.join('\n'));
}

function main(argv) {
  const [command, dist, ...rest] = argv;
  const option = (name) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  if (!dist || !['finish', 'stamp'].includes(command)) {
    console.error('usage: node ci/site.mjs finish|stamp DIST [--build-id ID] [--raw-wasm FILE] [--report FILE]');
    process.exit(2);
  }
  const build = stamp(dist, option('--build-id'));
  if (command === 'stamp') return console.log(`stamped ${dist} as build ${build}`);
  compress(dist);
  const report = { build, site: sizeTable(dist) };
  const raw = option('--raw-wasm');
  if (raw) report.crates = crateSizes(raw);
  printReport(report);
  const out = option('--report');
  if (out) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  }
  if (report.site.total.brotli > APP_BUDGET_BYTES) {
    console.error(`the app is ${report.site.total.brotli} bytes with brotli, over the budget of ${APP_BUDGET_BYTES}`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) main(process.argv.slice(2));
