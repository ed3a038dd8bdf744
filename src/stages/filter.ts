// `filter: <expression>`: keeps records where the expression is truthy; the rest are dropped with
// reason `filtered` (handled, so their offsets commit), not dead-lettered.
import type { FieldInfo } from '../core/fields.ts';
import { compileExpression } from './expr.ts';
import { inContext } from './plan-errors.ts';
import type { Drop, StagePlan } from './stage.ts';
import { recordStage } from './stage.ts';

const FILTERED: Drop = Object.freeze({ drop: 'filtered' });

export function createFilter(name: string, src: string, fields: readonly FieldInfo[]): StagePlan {
  const keep = inContext(name, () =>
    compileExpression(
      src,
      fields.map((f) => f.name),
    ),
  );
  const stage = recordStage(name, 'filter', (env) => (keep(env.row) ? env : FILTERED));
  return { stage, fields };
}
