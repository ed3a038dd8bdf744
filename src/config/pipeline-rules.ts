// Rules across a pipeline (transforms, sink columns, dead letters) and across pipelines.
import {
  applyTransform,
  declaredFields,
  joinOutputs,
  knownFieldsHint,
  outputFields,
  sinkFields,
} from './output-fields.ts';
import { acceptsType, parseMeasure } from '../aggregate/measures.ts';
import { addProblem, type Ctx } from './rules.ts';
import type { PipelineDraft } from './schema.ts';
import { closest } from './suggest.ts';
import { isPlainObject } from './values.ts';

/**
 * Pipeline rules, each with the parts it reads: a rule is skipped while one of its parts is
 * invalid (already reported there), and the others still run.
 */
export const pipelineRules = [
  { inputs: ['schema', 'transforms'], check: checkTransforms },
  {
    inputs: [
      'schema',
      'transforms',
      'join',
      'aggregate',
      'sink.clickhouse.columns',
      'sink.clickhouse.create_table',
    ],
    check: checkSinkFields,
  },
  { inputs: ['name', 'source.topics', 'dead_letter'], check: checkDeadLetter },
  {
    inputs: ['schema', 'transforms', 'join', 'aggregate', 'event_time_field'],
    check: checkEventTimeField,
  },
  { inputs: ['schema', 'transforms', 'source.topics', 'dedup'], check: checkDedup },
  { inputs: ['schema', 'transforms', 'source.topics', 'dead_letter', 'join'], check: checkJoin },
  { inputs: ['schema', 'transforms', 'join', 'aggregate'], check: checkAggregate },
] as const;

function checkAggregate(p: PipelineDraft, ctx: Ctx): void {
  const agg = p.aggregate;
  if (!agg) return;
  if (p.join)
    addProblem(ctx, ['aggregate'], 'a pipeline cannot both join and aggregate', {
      fix: 'aggregate in a second pipeline (its own group_id and table) on the same topic',
    });
  const fields = outputFields(p);
  const hint = (name: string) => knownFieldsHint(name, fields);
  if ('hopping' in agg.window) {
    const { size, hop } = agg.window.hopping;
    if (hop > size || size % hop !== 0)
      addProblem(
        ctx,
        ['aggregate', 'window', 'hopping'],
        `the hopping window size (${size} ms) is not a whole multiple of its hop (${hop} ms)`,
        { fix: 'e.g. size: 1h with hop: 5m' },
      );
  }
  if ('field' in agg.time) {
    const name = agg.time.field;
    const field = fields.find((f) => f.name === name);
    if (!field)
      addProblem(ctx, ['aggregate', 'time', 'field'], `aggregate time field "${name}" is unknown`, {
        fix: hint(name),
      });
    else if (field.type.kind !== 'datetime')
      addProblem(
        ctx,
        ['aggregate', 'time', 'field'],
        `aggregate time field "${name}" is a ${field.type.kind} field, not a datetime`,
        { fix: 'name a datetime field, or convert the field to datetime in a transform' },
      );
  }
  const names = new Map<string, (string | number)[]>();
  const claim = (name: string, path: (string | number)[]) => {
    const other = names.get(name);
    if (other)
      addProblem(ctx, path, `output field "${name}" is also ${other.join('.')}`, {
        fix: 'give every group field, window bound and measure its own name',
      });
    else names.set(name, path);
  };
  agg.group_by.forEach((name, i) => {
    if (!fields.some((f) => f.name === name))
      addProblem(
        ctx,
        ['aggregate', 'group_by', i],
        `aggregate group_by field "${name}" is not a field after the transforms`,
        { fix: hint(name) },
      );
    claim(name, ['aggregate', 'group_by', i]);
  });
  claim(agg.window_start, ['aggregate', 'window_start']);
  claim(agg.window_end, ['aggregate', 'window_end']);
  for (const [name, text] of Object.entries(agg.measures)) {
    const path = ['aggregate', 'measures', name];
    claim(name, path);
    const m = parseMeasure(name, text);
    if (typeof m === 'string') {
      addProblem(ctx, path, m, { fix: 'e.g. count(), sum(amount) or uniq(user_id)' });
      continue;
    }
    if (m.field === undefined) continue;
    const field = fields.find((f) => f.name === m.field);
    if (!field)
      addProblem(
        ctx,
        path,
        `measure ${text} names "${m.field}", which is not a field after the transforms`,
        {
          fix: hint(m.field),
        },
      );
    else if (!acceptsType(m.fn, field.type.kind))
      addProblem(ctx, path, `${m.fn}() cannot take "${m.field}", a ${field.type.kind} field`, {
        fix:
          m.fn === 'sum' || m.fn === 'avg'
            ? 'name a number or integer field, or convert it in a transform'
            : 'name a number, integer, datetime or string field',
      });
  }
}

function checkJoin(p: PipelineDraft, ctx: Ctx): void {
  const join = p.join;
  if (!join) return;
  const left = outputFields(p);
  const right = declaredFields(join.right.schema.fields);
  const sides = { left, right };
  const keyFields = (key: typeof join.left.key) =>
    typeof key === 'string' ? [key] : Array.isArray(key) ? key : [];
  for (const side of ['left', 'right'] as const) {
    const fields = sides[side];
    const where = side === 'left' ? 'a field after the transforms' : 'a field of right.schema';
    const key = join[side].key;
    keyFields(key).forEach((name, i) => {
      if (!fields.some((f) => f.name === name))
        addProblem(
          ctx,
          typeof key === 'string' ? ['join', side, 'key'] : ['join', side, 'key', i],
          `join ${side} key field "${name}" is not ${where}`,
          { fix: knownFieldsHint(name, fields) },
        );
    });
    const time = join[side].time;
    const field = fields.find((f) => f.name === time);
    if (!field)
      addProblem(ctx, ['join', side, 'time'], `join ${side} time field "${time}" is not ${where}`, {
        fix: knownFieldsHint(time, fields),
      });
    else if (field.type.kind !== 'datetime')
      addProblem(
        ctx,
        ['join', side, 'time'],
        `join ${side} time field "${time}" is a ${field.type.kind} field, not a datetime`,
        { fix: 'name a datetime field (event time, epoch ms or ISO 8601)' },
      );
  }
  if (p.source.topics.length !== 1)
    addProblem(ctx, ['source', 'topics'], 'a join reads exactly one left topic', {
      fix: 'list one topic in source.topics (the right topic goes in join.right.topic)',
    });
  if (p.source.topics.includes(join.right.topic))
    addProblem(
      ctx,
      ['join', 'right', 'topic'],
      `join right topic "${join.right.topic}" is also a source topic`,
      {
        fix: 'the right topic is read by the join; list only the left topics in source.topics',
      },
    );
  if (join.fields) {
    for (const o of joinOutputs(join, left)) {
      if (!sides[o.side].some((f) => f.name === o.field))
        addProblem(
          ctx,
          ['join', 'fields', o.name],
          `join output "${o.name}" names ${o.side}.${o.field}, which does not exist`,
          {
            fix: knownFieldsHint(o.field, sides[o.side]),
          },
        );
    }
  } else {
    const clash = right.filter((f) => left.some((l) => l.name === f.name)).map((f) => f.name);
    if (clash.length > 0)
      addProblem(ctx, ['join'], `both sides of the join have the field(s) ${clash.join(', ')}`, {
        fix: `list the output fields in join.fields, e.g. { ${clash[0]}: left.${clash[0]}, right_${clash[0]}: right.${clash[0]} }`,
      });
  }
}

function checkDedup(p: PipelineDraft, ctx: Ctx): void {
  const dedup = p.dedup;
  if (!dedup) return;
  const fields = outputFields(p);
  const hint = (name: string) => knownFieldsHint(name, fields);
  if (typeof dedup.key === 'string' || Array.isArray(dedup.key)) {
    const names: string[] = typeof dedup.key === 'string' ? [dedup.key] : dedup.key;
    names.forEach((name, i) => {
      if (!fields.some((f) => f.name === name))
        addProblem(
          ctx,
          typeof dedup.key === 'string' ? ['dedup', 'key'] : ['dedup', 'key', i],
          `dedup key field "${name}" is not a field after the transforms`,
          { fix: hint(name) },
        );
    });
  }
  if (typeof dedup.time === 'object') {
    const name = dedup.time.field;
    const field = fields.find((f) => f.name === name);
    if (!field)
      addProblem(ctx, ['dedup', 'time', 'field'], `dedup time field "${name}" is unknown`, {
        fix: hint(name),
      });
    else if (field.type.kind !== 'datetime')
      addProblem(
        ctx,
        ['dedup', 'time', 'field'],
        `dedup time field "${name}" is a ${field.type.kind} field, not a datetime`,
        { fix: 'name a datetime field, or convert the field to datetime in a transform' },
      );
  }
  if (dedup.duplicates_topic !== undefined && p.source.topics.includes(dedup.duplicates_topic))
    addProblem(
      ctx,
      ['dedup', 'duplicates_topic'],
      `duplicates topic "${dedup.duplicates_topic}" is also a source topic`,
      { fix: 'use a topic the pipeline does not read' },
    );
}

function checkEventTimeField(p: PipelineDraft, ctx: Ctx): void {
  const name = p.event_time_field;
  if (name === undefined) return;
  const fields = sinkFields(p);
  const field = fields.find((f) => f.name === name);
  if (!field)
    addProblem(ctx, ['event_time_field'], `event_time_field "${name}" is not an output field`, {
      fix: knownFieldsHint(name, fields).replace('fields at this point', 'output fields'),
    });
  else if (field.type.kind !== 'datetime')
    addProblem(
      ctx,
      ['event_time_field'],
      `event_time_field "${name}" is a ${field.type.kind} field, not a datetime`,
      { fix: 'name a datetime field, or convert the field to datetime in a transform' },
    );
}

function checkTransforms(p: PipelineDraft, ctx: Ctx): void {
  let fields = declaredFields(p.schema.fields);
  p.transforms.forEach((transform, i) => {
    fields = applyTransform(fields, transform, (path, problem, fix) =>
      addProblem(ctx, ['transforms', i, ...path], `transform ${i} ${problem}`, { fix }),
    );
    if (!('convert' in transform)) return;
    for (const [name, target] of Object.entries(transform.convert)) {
      if (
        typeof target === 'object' &&
        target.format &&
        target.to !== 'datetime' &&
        target.to !== 'date'
      )
        addProblem(
          ctx,
          ['transforms', i, 'convert', name, 'format'],
          `format applies only to conversions to datetime or date, not ${target.to}`,
          { fix: 'remove format' },
        );
    }
  });
  if (fields.length === 0)
    addProblem(ctx, ['transforms'], 'the transforms remove every field', {
      fix: 'keep at least one field for the sink',
    });
}

function checkDeadLetter(p: PipelineDraft, ctx: Ctx): void {
  const deadLetter = p.dead_letter.topic ?? deadLetterTopic(p.name);
  if (p.source.topics.includes(deadLetter))
    addProblem(
      ctx,
      ['dead_letter', 'topic'],
      `dead-letter topic "${deadLetter}" is also a source topic`,
      {
        fix: 'use a topic the pipeline does not read',
      },
    );
}

function checkSinkFields(p: PipelineDraft, ctx: Ctx): void {
  const fields = sinkFields(p);
  const sink = p.sink.clickhouse;
  const base = ['sink', 'clickhouse'];
  const byName = new Map(fields.map((f) => [f.name, f]));
  const outputHint = (name: string) =>
    knownFieldsHint(name, fields).replace('fields at this point', 'output fields');

  const columns = new Map<string, string>(
    sink.columns ? Object.entries(sink.columns) : fields.map((f) => [f.name, f.name]),
  );
  for (const [column, field] of sink.columns ? columns : []) {
    if (!byName.has(field))
      addProblem(
        ctx,
        [...base, 'columns', column],
        `column "${column}" takes unknown field "${field}"`,
        {
          fix: outputHint(field),
        },
      );
  }

  const create = sink.create_table;
  if (!create) return;
  create.order_by.forEach((column, i) => {
    const field = byName.get(columns.get(column) ?? '');
    const path = [...base, 'create_table', 'order_by', i];
    if (!columns.has(column)) {
      const near = closest(column, columns.keys());
      addProblem(ctx, path, `sorting key "${column}" is not a column of the table`, {
        fix: `${near ? `did you mean "${near}"? ` : ''}columns: ${[...columns.keys()].join(', ')}`,
      });
    } else if (field?.nullable)
      addProblem(
        ctx,
        path,
        `sorting key "${column}" is nullable; ClickHouse does not allow that by default`,
        {
          fix: 'make the field non-nullable, or sort by another column',
        },
      );
  });
  for (const [column, name] of columns) {
    if (byName.get(name)?.type.kind === 'any')
      addProblem(
        ctx,
        [...base, 'create_table'],
        `column "${column}" has no known type to create it with (field "${name}" is computed without a type)`,
        {
          fix: `give the computed field a type: ${name}: { expr: ..., type: <type> }`,
        },
      );
  }
}

export const consumerGroup = (pipeline: string) => `weir-${pipeline}`;
export const deadLetterTopic = (pipeline: string) => `weir.${pipeline}.dlq`;
export const dedupBucket = (pipeline: string) => `weir_dedup_${pipeline}`;
export const joinBucket = (pipeline: string) => `weir_join_${pipeline}`;
export const aggregateBucket = (pipeline: string) => `weir_aggregate_${pipeline}`;

/** Fills the defaults that depend on the pipeline's name. */
export function withDerivedDefaults(p: PipelineDraft) {
  return {
    ...p,
    source: { ...p.source, group_id: p.source.group_id ?? consumerGroup(p.name) },
    dead_letter: { ...p.dead_letter, topic: p.dead_letter.topic ?? deadLetterTopic(p.name) },
    dedup: p.dedup && {
      ...p.dedup,
      nats: { ...p.dedup.nats, bucket: p.dedup.nats.bucket ?? dedupBucket(p.name) },
    },
    join: p.join && {
      ...p.join,
      nats: { ...p.join.nats, bucket: p.join.nats.bucket ?? joinBucket(p.name) },
    },
    aggregate: p.aggregate && {
      ...p.aggregate,
      nats: { ...p.aggregate.nats, bucket: p.aggregate.nats.bucket ?? aggregateBucket(p.name) },
    },
  };
}

/** Rules across pipelines. Runs even when some pipelines are invalid, so reads defensively. */
export function checkConfig(config: { pipelines?: unknown }, ctx: Ctx): void {
  if (!Array.isArray(config.pipelines)) return;
  const names = new Map<string, number>();
  const groups = new Map<string, number>();
  config.pipelines.forEach((p: unknown, i) => {
    if (!isPlainObject(p) || typeof p.name !== 'string') return;
    const first = names.get(p.name);
    if (first !== undefined) {
      addProblem(
        ctx,
        ['pipelines', i, 'name'],
        `duplicate pipeline name "${p.name}" (also pipelines[${first}])`,
        {
          fix: 'give every pipeline a unique name',
        },
      );
      return;
    }
    names.set(p.name, i);
    const group = isPlainObject(p.source) ? p.source.group_id : undefined;
    if (typeof group !== 'string') return;
    const sharing = groups.get(group);
    if (sharing !== undefined)
      addProblem(
        ctx,
        ['pipelines', i, 'source', 'group_id'],
        `consumer group "${group}" is also used by pipelines[${sharing}]`,
        {
          fix: 'give each pipeline its own group_id',
        },
      );
    else groups.set(group, i);
  });
}
