// A static server for the e2e tests: the Trunk build at /, the shared tiny GPT-2 as a local
// model at /models/tiny-gpt2/, and two broken models for the error paths. Loopback only.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const refs = process.env.PATCHBAY_REFS ?? path.resolve(repo, '../shared/refs');
export const tiny = path.join(refs, 'tiny-gpt2');
const dist = path.join(repo, 'dist');

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json' };

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

export function startServer() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    requests.push(url.pathname);
    let body;
    let name = url.pathname;
    const model = url.pathname.match(/^\/models\/([^/]+)\/([^/]+)$/);
    try {
      if (model && model[1] === 'tiny-gpt2') body = fs.readFileSync(path.join(tiny, path.basename(model[2])));
      else if (model && ['truncated', 'bert'].includes(model[1])) body = brokenModel(model[1], path.basename(model[2]));
      else {
        const file = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
        name = file;
        const resolved = path.resolve(dist, file);
        if (!resolved.startsWith(dist)) throw new Error('outside dist');
        body = fs.readFileSync(resolved);
      }
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(name)] ?? 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, requests, base: `http://127.0.0.1:${server.address().port}` }));
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
