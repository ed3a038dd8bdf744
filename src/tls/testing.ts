// Real certificates for unit tests: made by the stack's generator (openssl) in a scratch dir before
// the file's tests and removed after them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { ensureTlsFiles, type TlsFiles } from '../../scripts/stack/tls.ts';

/** The certificates' paths, filled in by a `before` hook: read them inside tests. */
export function testCertificates(): TlsFiles {
  const files = {} as TlsFiles;
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'weir-tls-'));
    Object.assign(
      files,
      ensureTlsFiles(root, () => undefined),
    );
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  return files;
}
