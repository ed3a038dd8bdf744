// Transactional producers: Weir reads read_committed (kafkajs's default, which Weir keeps), so
// records of aborted transactions never land, committed ones land once, and the consumer group's
// offsets move past the transaction markers to the end of the log.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { EventFactory } from '../../src/generate/index.ts';
import { runWeir } from '../helpers/agent.ts';
import { pipelineFixture, tableCounts, waitForDrain } from '../helpers/pipeline.ts';
import { kafka, randomName } from '../helpers/stack.ts';

const ROUNDS = 8;
const PER_TRANSACTION = 250;
const CHUNK = 50;

const transactional = (): Producer =>
  kafka().producer({
    transactionalId: randomName('weir-tx'),
    idempotent: true,
    maxInFlightRequests: 1,
  });

describe('transactional producers', () => {
  it('lands committed transactions once and never aborted ones, interleaved in the log, and commits offsets to the end of the log', async () => {
    const f = await pipelineFixture({ partitions: 2 });
    const agent = runWeir(['run', '-c', f.configPath]);
    const events = new EventFactory({ seed: 13, badRate: 0, dupRate: 0 });
    const committed: string[] = [];
    const aborted: string[] = [];
    const [a, b] = [transactional(), transactional()];
    try {
      await Promise.all([a.connect(), b.connect()]);
      // Each round, A and B write their transactions in alternating chunks, so aborted records
      // sit between committed ones. A commits all but the last round, B only odd rounds, so the
      // log ends with aborted records and abort markers.
      for (let round = 0; round < ROUNDS; round++) {
        const last = round === ROUNDS - 1;
        const sides = [
          { tx: await a.transaction(), commit: !last, ids: [] as string[] },
          { tx: await b.transaction(), commit: round % 2 === 1 && !last, ids: [] as string[] },
        ];
        for (let sent = 0; sent < PER_TRANSACTION; sent += CHUNK)
          for (const side of sides) {
            const records = Array.from({ length: CHUNK }, () => events.nextOrder());
            side.ids.push(...records.map((r) => r.id));
            await side.tx.send({
              topic: f.topic,
              messages: records.map((r) => ({ value: r.value })),
            });
          }
        for (const side of sides) {
          if (side.commit) await side.tx.commit();
          else await side.tx.abort();
          (side.commit ? committed : aborted).push(...side.ids);
        }
      }
      assert.equal(committed.length, (ROUNDS - 1 + (ROUNDS / 2 - 1)) * PER_TRANSACTION);

      await waitForDrain(f);
      assert.deepEqual(await tableCounts(f), { rows: committed.length, unique: committed.length });
      const rs = await f.ch.query({
        query: `SELECT event_id FROM ${f.table} ORDER BY event_id`,
        format: 'JSONEachRow',
      });
      const landed = (await rs.json<{ event_id: string }>()).map((r) => r.event_id);
      assert.deepEqual(landed, [...committed].sort(), 'exactly the committed records landed');
      const abortedIds = new Set(aborted);
      assert.equal(landed.filter((id) => abortedIds.has(id)).length, 0);
    } finally {
      await Promise.all([a.disconnect(), b.disconnect()]);
      const agentExit = await agent.stop();
      await f.cleanup();
      assert.equal(agentExit, 0, agent.output().slice(-3000));
    }
  });
});
