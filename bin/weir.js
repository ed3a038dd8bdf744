#!/usr/bin/env node
// The `weir` executable: runs the compiled CLI in dist/, which `npm run build` makes (and `npm pack`
// / `npm publish` run it first). In a checkout, `npm run weir -- …` runs the TypeScript source.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli/weir.js', import.meta.url);
if (!existsSync(dist)) {
  process.stderr.write(
    'weir: error: the compiled CLI (dist/cli/weir.js) is missing: run `npm run build` first, ' +
      'or `npm run weir -- …` to run the TypeScript source\n',
  );
  process.exit(1);
}
await import(dist.href);
