// Restart after a crash: a SIGKILLed agent cannot leave its consumer group, so the broker keeps
// its partitions until its session times out (kafkajs has no static membership). An agent started
// in its place waits that long for them; this test holds that wait to the documented bound,
// source.session_timeout_ms + 5 s, checks that it says why it waits ("waiting for partitions"),
// and that nothing is lost or doubled on the way.
//
// Measure the wait for another session timeout (the test prints it):
//   WEIR_TEST_SESSION_TIMEOUT_MS=30000 WEIR_TEST_SKIP_STACK=1 \
//     node --import tsx --test test/integration/restart.test.ts
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kafkaSourceSchema } from '../../src/config/schema.ts';
import { JOIN_NOTICE_MS } from '../../src/source/kafka-source.ts';
import { runWeir, waitUntil, type WeirProcess } from '../helpers/agent.ts';
import { generate, pipelineFixture, tableCounts, waitForDrain } from '../helpers/pipeline.ts';

const PARTITIONS = 4;
const configured = Number(process.env.WEIR_TEST_SESSION_TIMEOUT_MS ?? 0);
const sessionTimeoutMs =
  configured || kafkaSourceSchema.parse({ brokers: ['k:9092'], topics: ['t'] }).session_timeout_ms;

/** When the agent logged `msg` (as seen by this process), watching its output from now on. */
function whenLogged(agent: WeirProcess, test: (line: string) => boolean): Promise<number> {
  return new Promise((resolve) => {
    const check = () => {
      if (!agent.output().split('\n').some(test)) return false;
      resolve(performance.now());
      return true;
    };
    if (check()) return;
    const onData = () => {
      if (check()) {
        agent.child.stdout?.off('data', onData);
        agent.child.stderr?.off('data', onData);
      }
    };
    agent.child.stdout?.on('data', onData);
    agent.child.stderr?.on('data', onData);
  });
}

const waitingNotice = (group: string) =>
  `waiting for partitions: a previous member of group ${group} may still hold them until its session times out (source.session_timeout_ms = ${sessionTimeoutMs})`;

const allAssigned = (line: string) =>
  line.includes('"partitions assigned"') &&
  (JSON.parse(line) as { partitions: string[] }).partitions.length === PARTITIONS;

describe('restart after a crash', () => {
  it(`a restarted agent gets a killed agent's partitions within session_timeout_ms + 5 s (${sessionTimeoutMs} ms)`, async (t) => {
    const f = await pipelineFixture({
      partitions: PARTITIONS,
      maxDelayMs: 200,
      sink: { exactly_once: 'required' },
      ...(configured ? { source: { session_timeout_ms: configured } } : {}),
    });
    let agent = runWeir(['run', '-c', f.configPath]);
    try {
      await waitUntil(
        'the first agent to take every partition',
        () => agent.output().split('\n').some(allAssigned),
        60_000,
      );
      const producing = generate(f, { count: 20_000, rate: 4000, seed: 13 });
      await waitUntil('rows to land', async () => (await tableCounts(f)).rows > 2000, 60_000);
      agent.child.kill('SIGKILL');
      await agent.exited;
      const killedAt = performance.now();
      agent = runWeir(['run', '-c', f.configPath]);
      const booted = whenLogged(agent, (l) => l.includes('"exactly-once delivery"'));
      const assigned = whenLogged(agent, allAssigned);
      const boundMs = sessionTimeoutMs + 5000;
      const timer = new Promise<number>((r) => setTimeout(() => r(NaN), boundMs + 30_000).unref());
      const assignedAt = await Promise.race([assigned, timer]);
      const waitMs = Math.round(assignedAt - killedAt);
      const bootedAt = await booted;
      t.diagnostic(
        `session_timeout_ms=${sessionTimeoutMs} kill->assigned=${waitMs} ms ` +
          `kill->restarted agent ready to join=${Math.round(bootedAt - killedAt)} ms`,
      );
      assert.ok(
        waitMs <= boundMs,
        `partitions moved after ${waitMs} ms (bound ${boundMs} ms)\n${agent.output().slice(-3000)}`,
      );
      // The restarted agent says why it waits - once, before the partitions come - when the wait
      // outlasts the notice (the consumer starts right after the "exactly-once delivery" line).
      const lines = agent.output().split('\n');
      const notice = lines.findIndex((l) => l.includes(waitingNotice(f.group)));
      const joinWaitMs = assignedAt - bootedAt;
      t.diagnostic(`restarted agent: ready to join->assigned=${Math.round(joinWaitMs)} ms`);
      if (joinWaitMs > JOIN_NOTICE_MS + 1000) {
        assert.ok(notice >= 0, `no notice of the wait:\n${agent.output().slice(-3000)}`);
        assert.ok(notice < lines.findIndex(allAssigned), 'the notice comes before the partitions');
      }
      assert.ok(lines.filter((l) => l.includes(waitingNotice(f.group))).length <= 1);
      const report = await producing;
      await waitForDrain(f, 120_000);
      const unique = report.counts.unique;
      assert.deepEqual(await tableCounts(f), { rows: unique, unique });
    } finally {
      await agent.stop();
      await f.cleanup();
    }
  });
});
