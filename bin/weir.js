#!/usr/bin/env node
// Runs the compiled CLI when `npm run build` has made dist/, otherwise the TypeScript source.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli/weir.js', import.meta.url);
if (existsSync(dist)) {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/weir.ts', import.meta.url).href);
}
