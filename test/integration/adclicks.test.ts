// The reference scenario end to end, from examples/adclicks.yaml alone, on the real stack:
// 200k clicks (15% duplicates spread over partitions, 5% from bot ranges, 1% malformed, 10% of the
// ads without a campaign), deduplicated across agents, filtered by CIDR, enriched from
// PostgreSQL, stamped with the ingest time, inserted exactly once — with two agents, and through
// 8 SIGKILLs while the campaigns change under the pipeline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCampaign } from '../../src/generate/adclicks.ts';
import { waitUntil } from '../helpers/agent.ts';
import {
  adClicksFixture,
  adClicksLag,
  clickCounts,
  expectedFor,
  lines,
  type AdClicksFixture,
  type EnrichedRow,
} from '../helpers/adclicks.ts';
import { readDeadLetters } from '../helpers/pipeline.ts';

const COUNT = Number(process.env.WEIR_TEST_ADCLICKS ?? 200_000);
const scenario = { count: COUNT, dupRate: 0.15, botRate: 0.05, badRate: 0.01, missingRate: 0.1 };

async function rows(f: AdClicksFixture): Promise<EnrichedRow[]> {
  const rs = await f.ch.query({
    query: `SELECT click_id, ad_id, campaign_name, campaign_budget, toString(clicked_at) AS clicked_at, toString(processed_at) AS processed_at FROM ${f.table}`,
    format: 'JSONEachRow',
  });
  return (await rs.json<EnrichedRow>()).map((r) => ({ ...r, ad_id: Number(r.ad_id) }));
}

/** The campaign version a row's fields come from; throws when name and budget disagree. */
function versionOf(r: EnrichedRow): number {
  if (!hasCampaign(r.ad_id, scenario)) {
    assert.equal(r.campaign_name, '(no campaign)', `ad ${r.ad_id} has no campaign`);
    assert.equal(r.campaign_budget, 0);
    return 0;
  }
  const m = /^campaign-(\d+)(?:-v(\d+))?$/.exec(r.campaign_name);
  assert.ok(m, `campaign name ${r.campaign_name}`);
  assert.equal(Number(m[1]), Math.ceil(r.ad_id / 4), `ad ${r.ad_id} got another ad's campaign`);
  const version = Number(m[2] ?? 1);
  assert.equal(
    r.campaign_budget,
    (r.ad_id % 17) * 100 + version,
    `click ${r.click_id}: name and budget of one campaign version`,
  );
  return version;
}

/**
 * The aggregate tables against ClickHouse's own aggregates of the enriched table: clicks per
 * minute (and, with `byCampaign`, per campaign and minute) exactly; unique users per campaign and
 * hour at least the true count (a user whose retried click dedup kept from another partition is
 * counted in both partitions' rows) and clicks per hour exactly.
 */
async function checkAggregates(f: AdClicksFixture, byCampaign: boolean): Promise<void> {
  const t = f.table;
  const keys = byCampaign ? 'campaign_name, m' : 'm';
  assert.deepEqual(
    await lines(
      f,
      `SELECT ${keys}, toUInt64(sum(clicks)) AS n FROM ${t}_per_minute GROUP BY ${keys.replace('m', 'window_start AS m')}`,
    ),
    await lines(
      f,
      `SELECT ${keys}, toUInt64(count()) AS n FROM ${t} GROUP BY ${keys.replace('m', 'toStartOfMinute(clicked_at) AS m')}`,
    ),
    'clicks per minute: the aggregate pipeline against ClickHouse over the enriched table',
  );
  const hourKeys = byCampaign ? 'campaign_name, h' : 'h';
  assert.deepEqual(
    await lines(
      f,
      `SELECT ${hourKeys}, toUInt64(sum(clicks)) AS n FROM ${t}_users_per_hour GROUP BY ${hourKeys.replace('h', 'window_start AS h')}`,
    ),
    await lines(
      f,
      `SELECT ${hourKeys}, toUInt64(count()) AS n FROM ${t} GROUP BY ${hourKeys.replace('h', 'toStartOfHour(clicked_at) AS h')}`,
    ),
    'clicks per hour',
  );
  const users = await lines(
    f,
    `SELECT a.campaign_name AS c, a.h AS h, a.users AS agg, b.users AS exact FROM
       (SELECT campaign_name, window_start AS h, sum(users) AS users FROM ${t}_users_per_hour GROUP BY campaign_name, h) AS a
     ALL INNER JOIN
       (SELECT campaign_name, toStartOfHour(clicked_at) AS h, uniqExact(user_id) AS users FROM ${t} GROUP BY campaign_name, h) AS b
     USING (campaign_name, h)`,
  );
  assert.ok(users.length > 0, 'hourly rows');
  for (const l of users) {
    const r = JSON.parse(l) as { agg: string; exact: string };
    assert.ok(Number(r.agg) >= Number(r.exact), `unique users per hour: ${l}`);
    assert.ok(Number(r.agg) <= Number(r.exact) * 1.2, `unique users per hour, near: ${l}`);
  }
}

async function drained(f: AdClicksFixture, expected: number, timeoutMs: number): Promise<void> {
  await waitUntil(
    `every offset committed and ${expected} rows`,
    async () => (await adClicksLag(f)) === 0 && (await clickCounts(f)).rows >= expected,
    timeoutMs,
    500,
  );
}

describe('the ad-click scenario (examples/adclicks.yaml)', () => {
  it(`${COUNT} clicks, two agents: exactly the expected rows with their campaign fields`, async () => {
    const f = await adClicksFixture();
    const { clicks, counts } = expectedFor(scenario);
    const agents = [await f.agent(), await f.agent()];
    try {
      const produced = await f.produce(scenario);
      assert.deepEqual(produced, counts);
      await drained(f, counts.clicks, 240_000);
      assert.deepEqual(await clickCounts(f), { rows: counts.clicks, unique: counts.clicks });
      const got = await rows(f);
      const want = new Map(clicks.map((c) => [c.click_id, c]));
      let missing = 0;
      for (const r of got) {
        const c = want.get(r.click_id);
        assert.ok(c, `row ${r.click_id} is not an expected click (a bot, or unknown)`);
        assert.equal(r.ad_id, c.ad_id);
        assert.equal(versionOf(r), hasCampaign(r.ad_id, scenario) ? 1 : 0);
        assert.equal(Date.parse(`${r.clicked_at}Z`), Math.floor(c.timestamp_ms / 1000) * 1000);
        if (!hasCampaign(r.ad_id, scenario)) missing++;
      }
      assert.equal(missing, counts.withoutCampaign);
      await checkAggregates(f, true);
      // Malformed records are dead letters, nothing else is.
      const letters = await readDeadLetters({ dlqTopic: `${f.topic}.dlq` }, counts.malformed);
      assert.equal(letters.length, counts.malformed);
      const out = agents.map((a) => a.process.output()).join('\n');
      for (const a of agents) assert.match(a.process.output(), /partitions assigned/);
      assert.doesNotMatch(out, /postgres:\/\/weir:weir@/, 'the password never appears');
    } finally {
      const exits = await Promise.all(agents.map((a) => a.process.stop()));
      await f.cleanup();
      assert.deepEqual(
        exits,
        [0, 0],
        agents.map((a) => a.process.output().slice(-1500)).join('\n'),
      );
    }
  });

  it(`${COUNT} clicks through 8 SIGKILLs while the campaigns change: no row doubled or missing, each row one campaign version`, async () => {
    const f = await adClicksFixture();
    const { counts } = expectedFor(scenario);
    const env = { ADCLICKS_SESSION_TIMEOUT_MS: '6000' };
    let agent = await f.agent(env);
    let version = 1;
    let updating = true;
    // The campaigns change every 300 ms for the whole run.
    const updates = (async () => {
      while (updating) {
        await new Promise((r) => setTimeout(r, 300));
        await f.setCampaigns(++version);
      }
    })();
    const kills: number[] = [];
    try {
      await f.produce(scenario);
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 2500 + 500 * (i % 3)));
        kills.push((await clickCounts(f)).rows);
        agent.process.child.kill('SIGKILL');
        await agent.process.exited;
        agent = await f.agent(env);
      }
      await drained(f, counts.clicks, 300_000);
      updating = false;
      await updates;
      assert.deepEqual(await clickCounts(f), { rows: counts.clicks, unique: counts.clicks });
      // The campaigns changed between the pipelines' lookups: per minute, not per campaign.
      await checkAggregates(f, false);
      const versions = new Set<number>();
      for (const r of await rows(f)) versions.add(versionOf(r));
      assert.ok(
        versions.size >= 3,
        `rows saw several campaign versions: ${[...versions].join(',')}`,
      );
      assert.ok(
        kills.some((k) => k > 0 && k < counts.clicks),
        `kills were mid-stream (rows at each kill: ${kills.join(', ')})`,
      );
      process.stdout.write(
        `# rows at each kill: ${kills.join(', ')}; campaign versions in the table: ${versions.size} (of ${version})\n`,
      );
    } finally {
      updating = false;
      await updates.catch(() => undefined);
      const exit = await agent.process.stop();
      await f.cleanup();
      assert.equal(exit, 0, agent.process.output().slice(-3000));
    }
  });
});
