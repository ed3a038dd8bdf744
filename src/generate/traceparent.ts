// W3C Trace Context `traceparent` values, so consumers can be tested for continuing a trace.
import type { Random } from './random.ts';

const ZEROS = /^0+$/;

/** `00-<32 hex trace id>-<16 hex parent id>-01` (sampled); all-zero ids are invalid, so redrawn. */
export function makeTraceparent(rng: Random): string {
  let traceId = rng.hex(16);
  while (ZEROS.test(traceId)) traceId = rng.hex(16);
  let parentId = rng.hex(8);
  while (ZEROS.test(parentId)) parentId = rng.hex(8);
  return `00-${traceId}-${parentId}-01`;
}

export const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
