import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pipelineSchema, weirConfigSchema } from './schema.ts';
import { minimalConfig, minimalPipeline } from './testing.ts';

const issues = (input: unknown) => {
  const r = pipelineSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('telemetry options', () => {
  it('agent.telemetry has defaults: tracing on, every root batch sampled, lag every 5 s', () => {
    const cfg = weirConfigSchema.parse(minimalConfig());
    assert.deepEqual(cfg.agent.telemetry, {
      tracing: { enabled: true, sample_ratio: 1, service_name: 'weir' },
      lag_interval_ms: 5000,
    });
    const r = weirConfigSchema.safeParse({
      ...minimalConfig(),
      agent: { telemetry: { tracing: { sample_ratio: 2, exporter: 'x' } } },
    });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues.map((i) => i.path.join('.')).sort(), [
      'agent.telemetry.tracing',
      'agent.telemetry.tracing.sample_ratio',
    ]);
  });

  it('event_time_field names a datetime output field', () => {
    const p = (event_time_field: string, transforms: unknown[] = []) =>
      minimalPipeline({
        schema: { fields: { id: 'uuid', at: 'datetime', n: 'number' } },
        transforms: transforms as never,
        event_time_field,
      });
    assert.deepEqual(issues(p('at')), []);
    assert.deepEqual(issues(p('when', [{ rename: { at: 'when' } }])), []);
    assert.match(
      issues(p('ts')).join('\n'),
      /event_time_field: event_time_field "ts" is not an output field/,
    );
    assert.match(
      issues(p('n')).join('\n'),
      /event_time_field "n" is a number field, not a datetime/,
    );
    assert.equal(pipelineSchema.parse(minimalPipeline()).event_time_field, undefined);
  });
});
