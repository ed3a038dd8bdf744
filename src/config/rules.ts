// Building blocks of the schema's cross-field rules. Each problem is a zod `custom` issue carrying
// its fix in `params`, so the loader prints every rule violation the same way as a type error.
import type { z } from 'zod';

export type Ctx = z.core.$RefinementCtx<unknown>;
type Path = (string | number)[];

/** Extra data of a rule's issue, read by the problem formatter. */
export interface ProblemParams {
  fix?: string;
  didYouMean?: string;
}

export function addProblem(ctx: Ctx, path: Path, message: string, params: ProblemParams = {}) {
  ctx.addIssue({ code: 'custom', path, message, params: { ...params } });
}

/** A string check with a message and a fix, instead of zod's generic "must match pattern". */
export function matching(
  pattern: RegExp,
  problem: (value: string) => string,
  fix: string,
  extra: (value: string) => boolean = () => true,
) {
  return (value: string, ctx: Ctx) => {
    if (!pattern.test(value) || !extra(value)) addProblem(ctx, [], problem(value), { fix });
  };
}

export function nonEmptyRecord(problem: string, fix: string) {
  return (value: Record<string, unknown>, ctx: Ctx) => {
    if (Object.keys(value).length === 0) addProblem(ctx, [], problem, { fix });
  };
}

/**
 * A `when` for rules that read only some parts of a partly invalid object: the rule runs unless
 * one of those parts (dotted prefixes) already has a problem, so every other problem is still
 * reported in the same pass.
 */
export function unlessIssuesAt(prefixes: readonly string[]) {
  const split = prefixes.map((p) => p.split('.'));
  const overlaps = (path: readonly PropertyKey[], prefix: readonly string[]) =>
    prefix.every((seg, i) => i >= path.length || String(path[i]) === seg);
  return (payload: z.core.ParsePayload): boolean =>
    !payload.issues.some((issue) => split.some((prefix) => overlaps(issue.path ?? [], prefix)));
}
