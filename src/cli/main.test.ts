import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { main } from './main.ts';

/** Runs `weir <args>` in-process; returns the exit code and what went to stdout and stderr. */
async function weir(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const capture = (chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  };
  const mocks = [
    mock.method(process.stdout, 'write', capture),
    mock.method(process.stderr, 'write', capture),
  ];
  try {
    return { code: await main(args), out };
  } finally {
    for (const m of mocks) m.mock.restore();
  }
}

describe('weir validate (no services)', () => {
  it('says in its help that it changes nothing, and offers --create', async () => {
    const { code, out } = await weir('validate', '--help');
    assert.equal(code, 0);
    assert.match(out, /changes nothing/);
    assert.match(out, /--create +create what is missing, as `weir run` does/);
  });

  it('refuses --create with --offline', async () => {
    const { code, out } = await weir('validate', '--offline', '--create', '-c', 'unused.yaml');
    assert.equal(code, 1);
    assert.match(out, /--create and --offline exclude each other/);
  });
});
