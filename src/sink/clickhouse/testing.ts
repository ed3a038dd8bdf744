// Helpers for the encoder tests: fields by type name, encoders by type string, and an assertion
// on the RecordError an encoder throws.
import assert from 'node:assert/strict';
import { RecordError } from '../../core/errors.ts';
import type { FieldInfo, FieldType } from '../../core/fields.ts';
import { encoderFor, type Encoder, type EncoderOptions } from './encode.ts';
import { parseChType } from './types.ts';

export const field = (
  type: FieldType | FieldType['kind'],
  nullable = false,
  name = 'c',
): FieldInfo => ({
  name,
  type: typeof type === 'string' ? ({ kind: type } as FieldType) : type,
  nullable,
});

/** The encoder of a column of type `chType` (named "c") for a field of type `type`. */
export const enc = (
  chType: string,
  type: FieldType | FieldType['kind'] = 'any',
  opts: EncoderOptions = {},
): Encoder => encoderFor(parseChType(chType), field(type), opts);

export function rejects(encode: Encoder, value: unknown, reason: string, text?: RegExp): void {
  assert.throws(
    () => encode(value),
    (err: unknown) => {
      assert.ok(err instanceof RecordError, `expected RecordError, got ${String(err)}`);
      assert.equal(err.reason, reason);
      if (text) assert.match(err.message, text);
      return true;
    },
  );
}

export const ms = (iso: string): number => Date.parse(iso);
