// What one buffered right event counts against join.max_buffer_bytes: the UTF-8 bytes of what it
// holds (its key and the right fields the output uses) plus a fixed cost for holding it at all.
// UTF-8, not string .length (UTF-16 code units): the measure of Kafka records and NATS payloads,
// and close to what V8 keeps for text (one byte a character for Latin-1, two beyond it).

/**
 * Heap one buffered event takes beyond its text: the event and row objects, boxed numbers, string
 * headers, its slots in the key map and the arrival queue. Measured on Node 20 with a key per
 * event: 400–480 bytes for rows of 1–10 fields. Counting it keeps the byte bound a memory bound
 * for small events too (2 million 100-byte events take ~1 GB, not 200 MB).
 */
export const EVENT_OVERHEAD_BYTES = 400;

/** UTF-8 bytes of a parsed value: text by its encoding, a number or boolean as 8, null as 0. */
export function valueBytes(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (v === null || v === undefined) return 0;
  if (typeof v !== 'object') return 8;
  let n = 0;
  if (Array.isArray(v)) for (const x of v) n += valueBytes(x);
  else for (const [k, x] of Object.entries(v)) n += Buffer.byteLength(k, 'utf8') + valueBytes(x);
  return n;
}

/** What a buffered event with this key and these fields counts against the byte bound. */
export function eventBytes(key: string, row: Record<string, unknown>): number {
  let n = EVENT_OVERHEAD_BYTES + Buffer.byteLength(key, 'utf8');
  for (const f in row) n += valueBytes(row[f]);
  return n;
}
