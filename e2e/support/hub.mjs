// A local stand-in for the Hugging Face Hub and PyPI's file server, as the
// Rust tests' `Hub` (tests/it/support.rs): `GET /{repo}/resolve/main/{path}`
// answers 302 to `/cdn/{path}` with `X-Linked-Etag` (the file's sha256), the
// CDN serves the bytes; a file of no repository is served at its own path, as
// files.pythonhosted.org does. The studio reaches it through `HF_ENDPOINT` and
// `FAMILIAR_PYPI_FILES`.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';

/**
 * @typedef {{ repo: string, path: string, file: string }} Served a local `file` served as `path` of `repo` ('' for none)
 * @typedef {{ url: string, requests: string[], close: () => Promise<void> }} Hub
 */

/**
 * Starts serving `files` on a free port.
 * @param {Served[]} files
 * @returns {Promise<Hub>}
 */
export async function startHub(files) {
  const served = await Promise.all(
    files.map(async (f) => {
      const bytes = await readFile(f.file);
      return { ...f, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
  /** @type {string[]} */
  const requests = [];
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://hub').pathname);
    requests.push(path);
    const redirect = served.find((f) => f.repo && path === `/${f.repo}/resolve/main/${f.path}`);
    if (redirect) {
      response.writeHead(302, { Location: `/cdn/${redirect.path}`, 'X-Linked-Etag': `"${redirect.sha256}"`, 'Content-Length': 0 });
      response.end();
      return;
    }
    const file = served.find((f) => path === (f.repo ? `/cdn/${f.path}` : `/${f.path}`));
    if (!file) {
      response.writeHead(404, { 'Content-Length': 9 });
      response.end('not found');
      return;
    }
    response.writeHead(200, { 'Content-Length': file.bytes.length });
    response.end(file.bytes);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
