// Where the local stack keeps its state and its downloads, for `npm run stack` and for tests that
// run the Kafka jars it fetched (the Java console producer and consumer).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StackContext } from './services.ts';

export const DEFAULT_KAFKA_VERSION = '3.9.1';

/** Records which Kafka version formatted the stack's data. */
export const kafkaVersionFile = (root: string): string => join(root, 'kafka', 'version');

/**
 * The stack of this checkout: WEIR_STACK_DIR / WEIR_CACHE_DIR or `.weir/` at its root; the Kafka
 * version asked for, else WEIR_KAFKA_VERSION, else the one the running stack was formatted with.
 */
export function stackContext(opts: { kafkaVersion?: string; fresh?: boolean } = {}): StackContext {
  const repo = resolve(import.meta.dirname, '..', '..');
  const root = process.env.WEIR_STACK_DIR ?? join(repo, '.weir', 'stack');
  const versionFile = kafkaVersionFile(root);
  const recorded = existsSync(versionFile) ? readFileSync(versionFile, 'utf8').trim() : undefined;
  return {
    root,
    cacheDir: process.env.WEIR_CACHE_DIR ?? join(repo, '.weir', 'cache'),
    kafkaVersion:
      opts.kafkaVersion ??
      process.env.WEIR_KAFKA_VERSION ??
      (opts.fresh ? undefined : recorded) ??
      DEFAULT_KAFKA_VERSION,
  };
}
