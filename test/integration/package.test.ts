// The npm package as a user gets it: `npm pack` (whose prepack builds dist/), the tarball installed
// into an empty folder with its production dependencies only, and the `weir` it installs run from
// there. Integration tier: the dependencies come from the npm registry (or the npm cache).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { childEnv, repo, run } from '../helpers/deploy.ts';

const version = (
  JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }
).version;

/** Files that only tests, benchmarks or doc generators use, by name (tsconfig.build.json). */
const DEV_ONLY =
  /(\.test\.|(^|\/)(testing|testkit|bench|memory-store|catalogue-doc|catalogue-guard)\.)/;

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

describe('npm package', () => {
  it('installs from its tarball and runs the compiled CLI, without tests or sources', (t) => {
    const work = mkdtempSync(join(tmpdir(), 'weir-pack-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));

    let since = performance.now();
    const pack = run('npm', ['pack', '--pack-destination', work], { timeoutMs: 180_000 });
    assert.equal(pack.status, 0, pack.output);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, `no tarball in ${work}:\n${pack.output}`);
    t.diagnostic(`npm pack (with the build): ${seconds(since)} s`);

    const listing = spawnSync('tar', ['-tzf', join(work, tarball)], { encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    const files = listing.stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    for (const needed of ['package.json', 'bin/weir.js', 'dist/cli/weir.js', 'examples/demo.yaml'])
      assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
    assert.deepEqual(
      files.filter((f) => DEV_ONLY.test(f)),
      [],
      'tests, test helpers and benchmarks stay out',
    );
    assert.deepEqual(
      files.filter((f) => f.startsWith('src/') || f.endsWith('.ts')),
      [],
      'no TypeScript sources',
    );

    since = performance.now();
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{ "name": "uses-weir", "private": true }\n');
    const install = run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball)],
      { cwd: app, timeoutMs: 300_000 },
    );
    assert.equal(install.status, 0, install.output);
    t.diagnostic(`npm install of the tarball: ${seconds(since)} s`);
    for (const dev of ['tsx', 'typescript'])
      assert.deepEqual(
        readdirSync(join(app, 'node_modules')).filter((d) => d === dev),
        [],
        `${dev} (a dev dependency) was installed`,
      );

    const weir = (args: string[]) =>
      spawnSync(join(app, 'node_modules/.bin/weir'), args, {
        cwd: app,
        env: childEnv(),
        encoding: 'utf8',
        timeout: 60_000,
      });
    const v = weir(['--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), version);
    const example = join(app, 'node_modules/weir/examples/demo.yaml');
    const validate = weir(['validate', '--offline', '-c', example]);
    assert.equal(validate.status, 0, `${validate.stdout}${validate.stderr}`);
    assert.match(validate.stdout, /: OK \(1 pipeline: orders; connections not checked\)/);
  });
});
