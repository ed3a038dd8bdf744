import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { areaOf, summarize, type CpuProfile } from './cpuprofile.ts';

const frame = (functionName: string, url: string, lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

describe('cpuprofile summary', () => {
  it('aggregates self time by function and by area, without idle time', () => {
    const profile: CpuProfile = {
      startTime: 0,
      endTime: 100,
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('parse', 'file:///repo/src/stages/parse.ts', 40) },
        { id: 4, callFrame: frame('decode', 'file:///repo/node_modules/kafkajs/src/x.js', 9) },
      ],
      samples: [3, 3, 4, 2, 3],
      timeDeltas: [0, 10_000, 10_000, 20_000, 60_000],
    };
    const s = summarize([profile]);
    assert.equal(s.totalMs, 100);
    assert.equal(s.idleShare, 0.6);
    assert.deepEqual(
      s.byArea.map((a) => [a.name, a.ms]),
      [
        ['src/stages', 20],
        ['kafkajs', 20],
      ],
    );
    assert.equal(s.byFunction[0]?.name, 'parse src/stages/parse.ts:41');
    assert.equal(s.byFunction[0]?.share, 0.5);
  });

  it('names areas by package, repository folder or node internals', () => {
    assert.equal(
      areaOf('file:///a/node_modules/@clickhouse/client/dist/x.js'),
      '@clickhouse/client',
    );
    assert.equal(areaOf('file:///a/src/dedup/stage.ts'), 'src/dedup');
    assert.equal(areaOf('node:internal/streams/readable'), 'node:internal');
    assert.equal(areaOf(''), '(native / V8)');
  });
});
