// A static server for the e2e tests, loopback only: the site that `ci/dist` built, under its
// public URL (PATCHBAY_PUBLIC_URL, `/` by default), served the way the README asks a host to
// (precompressed .br/.gz with Content-Encoding, hashed names immutable, ETags); the shared tiny
// GPT-2 as a local model at /models/tiny-gpt2/, broken models for the error paths (a truncated
// file, a 0-byte one, a connection dropped midway, a BERT config) and a
// stand-in for the hub's API.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const refs = process.env.PATCHBAY_REFS ?? path.resolve(repo, '../shared/refs');
export const tiny = path.join(refs, 'tiny-gpt2');
/** SAELens's SAEs for the tiny model and what SAELens computed with them (tests/sae). */
export const saeRefs = path.join(repo, 'tests/sae/refs');
const defaultDist = process.env.PATCHBAY_DIST ?? path.join(repo, 'dist');
/** Where the app lives on the server: the `--public-url` that `ci/dist` was given. */
export const publicUrl = process.env.PATCHBAY_PUBLIC_URL ?? '/';

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml' };

function brokenModel(name, file) {
  const read = (f) => fs.readFileSync(path.join(tiny, f));
  if (name === 'truncated' && file === 'model.safetensors') {
    const full = read(file);
    return full.subarray(0, Math.floor(full.length / 2));
  }
  if (name === 'bert' && file === 'config.json') {
    return Buffer.from(JSON.stringify({ ...JSON.parse(read(file)), model_type: 'bert', architectures: ['BertModel'] }));
  }
  return read(file);
}

/** A deterministic pseudo-random stream in [-0.1, 0.1) (mulberry32). */
function uniform(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) - 0.5) * 0.2;
  };
}

/** A safetensors file from `{name: {shape, values}}`: Float32Array values are F32, Uint16Array F16 bits. */
export function safetensors(tensors) {
  const header = {};
  let offset = 0;
  for (const [name, { shape, values }] of Object.entries(tensors)) {
    const dtype = values instanceof Uint16Array ? 'F16' : 'F32';
    header[name] = { dtype, shape, data_offsets: [offset, offset + values.byteLength] };
    offset += values.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  out.write(json, 8);
  let at = 8 + json.length;
  for (const { values } of Object.values(tensors)) {
    Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(out, at);
    at += values.byteLength;
  }
  return out;
}

/**
 * GPT-2 small's width with one layer whose weights are all zero: the residual stream is
 * `wte[token] + wpe[pos]`, so the logits are `ln_f(wte[t] + wpe[p]) · wteᵀ`, which the test
 * computes itself. Its token embedding is 154 MB, over WebGPU's default 128 MiB binding.
 */
export const wide = (() => {
  const d = 768, vocab = 50257, ctx = 64, inner = 4 * d;
  const random = uniform(7);
  const filled = (n, f) => Float32Array.from({ length: n }, f);
  const wte = filled(vocab * d, random);
  const wpe = filled(ctx * d, random);
  const zeros = (...shape) => ({ shape, values: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  const ones = (n) => ({ shape: [n], values: new Float32Array(n).fill(1) });
  const config = { ...JSON.parse(fs.readFileSync(path.join(tiny, 'config.json'))), n_embd: d, n_head: 12, n_layer: 1, n_positions: ctx };
  let weights;
  return {
    d, vocab, wte, wpe, epsilon: config.layer_norm_epsilon,
    config: Buffer.from(JSON.stringify(config)),
    weights: () => (weights ??= safetensors({
      'wte.weight': { shape: [vocab, d], values: wte },
      'wpe.weight': { shape: [ctx, d], values: wpe },
      'h.0.ln_1.weight': ones(d), 'h.0.ln_1.bias': zeros(d),
      'h.0.attn.c_attn.weight': zeros(d, 3 * d), 'h.0.attn.c_attn.bias': zeros(3 * d),
      'h.0.attn.c_proj.weight': zeros(d, d), 'h.0.attn.c_proj.bias': zeros(d),
      'h.0.ln_2.weight': ones(d), 'h.0.ln_2.bias': zeros(d),
      'h.0.mlp.c_fc.weight': zeros(d, inner), 'h.0.mlp.c_fc.bias': zeros(inner),
      'h.0.mlp.c_proj.weight': zeros(inner, d), 'h.0.mlp.c_proj.bias': zeros(d),
      'ln_f.weight': ones(d), 'ln_f.bias': zeros(d),
    })),
  };
})();

/** The f16 bits of a float in f16's normal range (smaller magnitudes flush to zero). */
function half(value) {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  if (exponent <= 0) return sign;
  if (exponent >= 31) return sign | 0x7c00;
  return sign | (exponent << 10) | ((bits & 0x7fffff) >>> 13);
}

/**
 * A random model of a GPT-2 shape in f16, as the hub's checkpoints are often shipped, made once
 * on demand. Weights uniform in ±0.05 (a cycle of 65536 values), LayerNorm weights 1, biases 0.
 */
function randomModel({ d, layers, heads, seed }) {
  const vocab = 50257, ctx = 1024, inner = 4 * d;
  const config = { ...JSON.parse(fs.readFileSync(path.join(tiny, 'config.json'))), n_embd: d, n_head: heads, n_layer: layers, n_positions: ctx };
  const random = uniform(seed);
  const cycle = Uint16Array.from({ length: 65536 }, () => half(random() / 2));
  let weights;
  return {
    config: Buffer.from(JSON.stringify(config)),
    weights: () => {
      if (weights) return weights;
      let at = 0;
      const weight = (...shape) => {
        const values = new Uint16Array(shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < values.length; i++) values[i] = cycle[(at++ * 40503) & 0xffff];
        return { shape, values };
      };
      const filled = (n, bits) => ({ shape: [n], values: new Uint16Array(n).fill(bits) });
      const tensors = { 'wte.weight': weight(vocab, d), 'wpe.weight': weight(ctx, d) };
      for (let l = 0; l < layers; l++) {
        Object.assign(tensors, {
          [`h.${l}.ln_1.weight`]: filled(d, 0x3c00), [`h.${l}.ln_1.bias`]: filled(d, 0),
          [`h.${l}.attn.c_attn.weight`]: weight(d, 3 * d), [`h.${l}.attn.c_attn.bias`]: filled(3 * d, 0),
          [`h.${l}.attn.c_proj.weight`]: weight(d, d), [`h.${l}.attn.c_proj.bias`]: filled(d, 0),
          [`h.${l}.ln_2.weight`]: filled(d, 0x3c00), [`h.${l}.ln_2.bias`]: filled(d, 0),
          [`h.${l}.mlp.c_fc.weight`]: weight(d, inner), [`h.${l}.mlp.c_fc.bias`]: filled(inner, 0),
          [`h.${l}.mlp.c_proj.weight`]: weight(inner, d), [`h.${l}.mlp.c_proj.bias`]: filled(d, 0),
        });
      }
      Object.assign(tensors, { 'ln_f.weight': filled(d, 0x3c00), 'ln_f.bias': filled(d, 0) });
      return (weights = safetensors(tensors));
    },
  };
}

/** gpt2-medium's shape (24 layers, d_model 1024, 355M parameters): 710 MB of f16 weights. */
export const medium = randomModel({ d: 1024, layers: 24, heads: 16, seed: 11 });
/** GPT-2 small's shape (12 layers, d_model 768, 124M parameters): 249 MB of f16 weights. */
export const small = randomModel({ d: 768, layers: 12, heads: 12, seed: 13 });

/**
 * An SAE of `gpt2-small-res-jb`'s shape (24,576 features reading blocks.8.hook_resid_pre of
 * GPT-2 small, f32 as that release ships: 151 MB), random, made once on demand.
 */
export const smallSae = (() => {
  const dIn = 768, dSae = 24576;
  const config = { architecture: 'standard', d_in: dIn, d_sae: dSae, dtype: 'float32', apply_b_dec_to_input: true, normalize_activations: 'none', metadata: { hook_name: 'blocks.8.hook_resid_pre' } };
  let weights;
  return {
    config: Buffer.from(JSON.stringify(config)),
    weights: () => {
      if (weights) return weights;
      const random = uniform(19);
      const cycle = Float32Array.from({ length: 65536 }, () => random());
      let at = 0;
      const weight = (...shape) => {
        const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < values.length; i++) values[i] = cycle[(at++ * 40503) & 0xffff];
        return { shape, values };
      };
      const filled = (n, v) => ({ shape: [n], values: new Float32Array(n).fill(v) });
      return (weights = safetensors({ W_enc: weight(dIn, dSae), b_enc: filled(dSae, -0.05), W_dec: weight(dSae, dIn), b_dec: filled(dIn, 0) }));
    },
  };
})();

/**
 * GPT-2 small's depth, heads and vocabulary at a width of 48 (d_head 4, 9.7 MB of f16 weights):
 * its grids have GPT-2 small's shapes, so every bundled example runs in seconds.
 */
export const narrow = randomModel({ d: 48, layers: 12, heads: 12, seed: 17 });

/** gpt2-xl's config: the app must refuse it before downloading anything else. */
const xlConfig = () => Buffer.from(JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(tiny, 'config.json'))), n_embd: 1600, n_head: 25, n_layer: 48, n_positions: 1024 }));

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

/** A stand-in for the hub's API (`?hub=` points the app here): the file list with sizes and sha256. */
function hubTree(repo) {
  const read = (f) => fs.readFileSync(path.join(tiny, f));
  const entry = (p, bytes, lfs) => ({ type: 'file', path: p, size: bytes.length, oid: 'git-blob', ...(lfs ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {}) });
  if (repo === 'test/huge') return [entry('config.json', xlConfig()), { type: 'file', path: 'model.safetensors', size: 6431829964, lfs: { oid: '0'.repeat(64), size: 6431829964 } }];
  if (repo === 'test/pytorch-only') return [entry('config.json', read('config.json')), { type: 'file', path: 'pytorch_model.bin', size: 1 }];
  const files = [entry('config.json', read('config.json')), entry('tokenizer.json', read('tokenizer.json')), entry('model.safetensors', read('model.safetensors'), true)];
  if (repo === 'test/tampered') files[2].lfs.oid = 'f'.repeat(64);
  return files;
}

function hubFile(repo, file) {
  if (repo === 'test/huge' && file === 'config.json') return xlConfig();
  if (!['test/tiny-gpt2', 'test/tampered', 'test/huge', 'test/pytorch-only'].includes(repo)) throw new Error('no such repo');
  return fs.readFileSync(path.join(tiny, file));
}

/** Trunk's content hash in a file or folder name: such files never change. */
const HASHED = /-[0-9a-f]{12,16}(_bg)?(\.|\/)/;

/**
 * A file of the site as a static host serves it: the precompressed sibling the browser accepts,
 * `Cache-Control` by name, an ETag and 304s. Returns what was sent, for the transfer log.
 */
function serveSite(req, res, dist, rel) {
  const file = path.resolve(dist, rel === '' || rel.endsWith('/') ? `${rel}index.html` : rel);
  if (!file.startsWith(dist + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return null;
  const accepted = String(req.headers['accept-encoding'] ?? '');
  const encoding = [['br', '.br'], ['gzip', '.gz']].find(([name, ext]) => accepted.includes(name) && fs.existsSync(file + ext));
  const body = fs.readFileSync(encoding ? file + encoding[1] : file);
  const etag = `"${crypto.createHash('sha1').update(body).digest('hex')}"`;
  const headers = {
    'content-type': types[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': HASHED.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag,
    vary: 'Accept-Encoding',
    ...(encoding ? { 'content-encoding': encoding[0] } : {}),
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return { status: 304, bytes: 0, encoding: encoding?.[0] };
  }
  res.writeHead(200, { ...headers, 'content-length': body.length });
  res.end(body);
  return { status: 200, bytes: body.length, encoding: encoding?.[0] };
}

/**
 * `{server, base, app, requests, transfers, deploy}`: `base` is the server's origin, `app` the
 * page's URL (`base` + the public URL); `requests` lists every path asked for, `transfers` every
 * site file sent (`{path, status, bytes, encoding}`); `deploy(dir)` serves another build from
 * then on. `dist` and `prefix` serve another build.
 */
export function startServer({ dist = defaultDist, prefix = publicUrl } = {}) {
  dist = path.resolve(dist);
  const deploy = (dir) => {
    dist = path.resolve(dir);
  };
  const requests = [];
  const transfers = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    requests.push(url.pathname);
    if (url.pathname.startsWith(prefix) && !/^\/(models|api)\//.test(url.pathname) && !/\/resolve\/main\//.test(url.pathname)) {
      const rel = decodeURIComponent(url.pathname.slice(prefix.length));
      const sent = serveSite(req, res, dist, rel);
      if (sent) {
        transfers.push({ path: url.pathname, ...sent });
        return;
      }
    }
    let body;
    let name = url.pathname;
    const lesson = url.pathname.match(/^\/lessons\/([a-z-]+\.md)$/);
    if (lesson) {
      // Lessons a course would host beside the page (tests/e2e/lessons/).
      const file = path.join(repo, 'tests/e2e/lessons', lesson[1]);
      if (!fs.existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/markdown; charset=utf-8' }).end(fs.readFileSync(file));
      return;
    }
    const model = url.pathname.match(/^\/models\/([^/]+)\/([^/]+)$/);
    const tree = url.pathname.match(/^\/api\/models\/(.+)\/tree\/main$/);
    const resolve = url.pathname.match(/^\/(test\/[^/]+)\/resolve\/main\/([^/]+)$/);
    // SAE folders: served as files (/saes/NAME/) and as folders of a hub repository `test/saes`.
    const sae = url.pathname.match(/^\/saes\/([a-z]+)\/([^/]+)$/) ?? url.pathname.match(/^\/test\/saes\/resolve\/main\/([a-z]+)\/([^/]+)$/);
    const saeTree = url.pathname.match(/^\/api\/models\/test\/saes\/tree\/main\/([a-z]+)$/);
    try {
      if (model && model[1] === 'slow' && model[2] === 'model.safetensors') {
        // Trickles the weights so that a test can cancel the download.
        const full = fs.readFileSync(path.join(tiny, 'model.safetensors'));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': full.length });
        let at = 0;
        const timer = setInterval(() => {
          if (at >= full.length || res.destroyed) return clearInterval(timer);
          res.write(full.subarray(at, at + 16384));
          at += 16384;
        }, 50);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (model && model[1] === 'interrupted' && model[2] === 'model.safetensors') {
        // The connection drops halfway through the weights (a server restart, a lost network).
        const full = fs.readFileSync(path.join(tiny, 'model.safetensors'));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': full.length });
        res.write(full.subarray(0, full.length >> 1), () => setTimeout(() => res.socket?.destroy(), 100));
        return;
      }
      if (sae && sae[1] === 'small') body = sae[2] === 'cfg.json' ? smallSae.config : smallSae.weights();
      else if (sae) body = fs.readFileSync(path.join(saeRefs, path.basename(sae[1]), path.basename(sae[2])));
      else if (saeTree) {
        const folder = path.basename(saeTree[1]);
        const entry = (f) => {
          const bytes = fs.readFileSync(path.join(saeRefs, folder, f));
          const lfs = f.endsWith('.safetensors') ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {};
          return { type: 'file', path: `${folder}/${f}`, size: bytes.length, oid: 'git-blob', ...lfs };
        };
        body = Buffer.from(JSON.stringify(['cfg.json', 'sae_weights.safetensors'].map(entry)));
      } else if (model && model[1] === 'empty' && model[2] === 'model.safetensors') body = Buffer.alloc(0);
      else if (tree) body = Buffer.from(JSON.stringify(hubTree(tree[1])));
      else if (resolve) body = hubFile(resolve[1], path.basename(resolve[2]));
      else if (model && model[1] === 'slow') body = fs.readFileSync(path.join(tiny, path.basename(model[2])));
      else if (model && model[1] === 'wide') body = model[2] === 'config.json' ? wide.config : model[2] === 'model.safetensors' ? wide.weights() : fs.readFileSync(path.join(tiny, path.basename(model[2])));
      else if (model && ['medium', 'small', 'narrow'].includes(model[1])) {
        const shaped = { medium, small, narrow }[model[1]];
        body = model[2] === 'config.json' ? shaped.config : model[2] === 'model.safetensors' ? shaped.weights() : fs.readFileSync(path.join(tiny, path.basename(model[2])));
      }
      else if (model && model[1] === 'huge') body = model[2] === 'config.json' ? xlConfig() : fs.readFileSync(path.join(tiny, path.basename(model[2])));
      else if (model && model[1] === 'tiny-gpt2-gedi') body = fs.readFileSync(path.join(refs, 'tiny-gpt2-gedi', path.basename(model[2])));
      else if (model && ['tiny-gpt2', 'interrupted', 'empty'].includes(model[1])) body = fs.readFileSync(path.join(tiny, path.basename(model[2])));
      else if (model && ['truncated', 'bert'].includes(model[1])) body = brokenModel(model[1], path.basename(model[2]));
      else throw new Error('not found');
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    // Model files may be read from another origin (as the hub's are): the security test serves
    // a model from a second server.
    res.writeHead(200, { 'content-type': types[path.extname(name)] ?? 'application/octet-stream', 'content-length': body.length, 'access-control-allow-origin': '*' });
    res.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const base = `http://127.0.0.1:${server.address().port}`;
      resolve({ server, requests, transfers, deploy, base, app: `${base}${prefix}` });
    });
  });
}

/// Reads one f32 tensor from a safetensors file.
export function readTensor(file, name) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  const { shape, data_offsets: [start, end] } = header[name];
  const bytes = buf.subarray(8 + n + start, 8 + n + end);
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return { shape, values };
}
