#!/usr/bin/env node
// Runs Node's built-in test runner over the project's TypeScript tests (loaded through tsx).
//   node scripts/test.mjs unit          unit tests beside the code (src/**/*.test.ts), no services
//   node scripts/test.mjs integration   tests against the real local stack (test/**/*.test.ts),
//                                       brought up first with `npm run stack -- up`
//   node scripts/test.mjs all           both, one summary
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern=dedup).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [tier = 'all', ...extra] = process.argv.slice(2);

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

const unit = [...find(join(root, 'src')), ...find(join(root, 'scripts'))];
const integration = find(join(root, 'test'));
const files =
  tier === 'unit' ? unit : tier === 'integration' ? integration : [...unit, ...integration];
if (!['unit', 'integration', 'all'].includes(tier)) {
  console.error(`unknown test tier '${tier}': use unit, integration or all`);
  process.exit(2);
}
if (files.length === 0) {
  console.error(`no test files found for tier '${tier}'`);
  process.exit(1);
}
// Integration tests need the real services: bring the local stack up first (idempotent; installs
// what is missing). Set WEIR_TEST_SKIP_STACK=1 to use services you started yourself.
if (tier !== 'unit' && !process.env.WEIR_TEST_SKIP_STACK) {
  const up = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/stack/main.ts', 'up'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (up.status !== 0) {
    console.error('the local stack did not come up; see the error above');
    process.exit(up.status ?? 1);
  }
}
// Integration tests share one broker and one ClickHouse on a 2-core machine: run files one at a
// time so timings stay meaningful; unit tests are independent and run in parallel.
const concurrency = tier === 'unit' ? '2' : '1';
const res = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=600000',
    '--test-reporter=spec',
    ...extra,
    ...files,
  ],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, WEIR_LOG_LEVEL: process.env.WEIR_LOG_LEVEL ?? 'warn' },
  },
);
process.exit(res.status ?? 1);
