// The ad-click scenario: clicks (click_id, user_id, ad_id, timestamp_ms, ip_address) with a known
// mix of duplicates (spread across partitions), clicks from internal or bot IP ranges, malformed
// records and ads without a campaign, plus the campaigns dimension table they are enriched from.
// Deterministic for a seed, so tests and the demo can say exactly which rows must land.
import type { Message } from 'kafkajs';
import { Random } from './random.ts';
import { createGeneratorKafka } from './kafka.ts';
import { ensureTopic } from './topics.ts';

/** The ranges the scenario's filter drops: internal networks and a bot farm, IPv4 and IPv6. */
export const BOT_RANGES = ['192.168.1.0/24', '10.0.0.0/8', '2001:db8:bad::/48'] as const;

export interface Click {
  click_id: string;
  user_id: string;
  ad_id: number;
  timestamp_ms: number;
  ip_address: string;
}

export interface Campaign {
  ad_id: number;
  campaign_name: string;
  campaign_budget: number;
}

export interface AdClickOptions {
  /** Records produced, duplicates and malformed ones included. */
  count: number;
  seed?: number;
  /** Fraction of records that repeat an earlier click (sent under another key: any partition). */
  dupRate?: number;
  /** Fraction of distinct clicks from a bot or internal range. */
  botRate?: number;
  /** Fraction of records that are not valid clicks (bad JSON, a wrong type). */
  badRate?: number;
  /** Distinct ads; ad ids are 1…ads. */
  ads?: number;
  /** Fraction of ads with no campaign row. */
  missingRate?: number;
  users?: number;
  /** Event time of the first click (epoch ms) and the step between clicks. */
  baseTime?: number;
  intervalMs?: number;
}

export type ClickKind = 'click' | 'bot' | 'duplicate' | 'malformed';

export interface ClickRecord {
  key: string;
  value: string;
  kind: ClickKind;
  click?: Click;
}

const defaults = {
  seed: 1,
  dupRate: 0.15,
  botRate: 0.05,
  badRate: 0.01,
  ads: 200,
  missingRate: 0.1,
  users: 20_000,
  intervalMs: 10,
};

/**
 * Whether an ad has a campaign: the same answer for the generator and the expected rows. Exactly
 * `missingRate` of the ad ids (spread evenly) have none.
 */
export function hasCampaign(adId: number, o: Pick<AdClickOptions, 'missingRate'> = {}): boolean {
  const rate = o.missingRate ?? defaults.missingRate;
  return Math.floor(adId * rate) === Math.floor((adId - 1) * rate);
}

/** The campaigns dimension rows for ads 1…ads (those that have one), at a given version. */
export function campaigns(
  o: Pick<AdClickOptions, 'seed' | 'missingRate' | 'ads'> = {},
  version = 1,
): Campaign[] {
  const out: Campaign[] = [];
  for (let ad = 1; ad <= (o.ads ?? defaults.ads); ad++)
    if (hasCampaign(ad, o))
      out.push({
        ad_id: ad,
        campaign_name: `campaign-${Math.ceil(ad / 4)}${version > 1 ? `-v${version}` : ''}`,
        campaign_budget: (ad % 17) * 100 + version,
      });
  return out;
}

function publicIp(r: Random): string {
  if (r.chance(0.2))
    return `2a00:${r.int(0xffff).toString(16)}:${r.int(0xffff).toString(16)}::${r.int(0xffff).toString(16)}`;
  // 34.0.0.0/8 … 90.0.0.0/8: never in BOT_RANGES.
  return `${34 + r.int(57)}.${r.int(256)}.${r.int(256)}.${1 + r.int(254)}`;
}

function botIp(r: Random): string {
  switch (r.int(3)) {
    case 0:
      return `192.168.1.${r.int(256)}`;
    case 1:
      return `10.${r.int(256)}.${r.int(256)}.${r.int(256)}`;
    default:
      return `2001:db8:bad:${r.int(0xffff).toString(16)}::${(1 + r.int(0xfffe)).toString(16)}`;
  }
}

/** The scenario's records, in production order. */
export function* adClicks(input: AdClickOptions): Generator<ClickRecord> {
  const o = { ...defaults, ...input };
  const r = new Random(o.seed, 1);
  const base = o.baseTime ?? 1_767_225_600_000; // 2026-01-01T00:00:00Z
  const recent: Click[] = [];
  let n = 0;
  for (let i = 0; i < o.count; i++) {
    if (recent.length > 0 && r.chance(o.dupRate)) {
      // A retry of an earlier click, keyed differently (a client retry through another path).
      const c = recent[r.int(recent.length)]!;
      yield { key: `retry-${r.hex(4)}`, value: JSON.stringify(c), kind: 'duplicate', click: c };
      continue;
    }
    if (r.chance(o.badRate)) {
      const broken =
        r.int(2) === 0
          ? `{"click_id":"bad-${i}","user_id":`
          : JSON.stringify({
              click_id: `bad-${i}`,
              user_id: 'u',
              ad_id: 1,
              timestamp_ms: 'yesterday',
              ip_address: '1.2.3.4',
            });
      yield { key: `bad-${i}`, value: broken, kind: 'malformed' };
      continue;
    }
    const bot = r.chance(o.botRate);
    const c: Click = {
      click_id: r.uuid(),
      user_id: `user-${r.int(o.users)}`,
      ad_id: 1 + r.int(o.ads),
      timestamp_ms: Math.floor(base + n++ * o.intervalMs),
      ip_address: bot ? botIp(r) : publicIp(r),
    };
    if (recent.length < 5000) recent.push(c);
    else recent[r.int(recent.length)] = c;
    yield { key: c.user_id, value: JSON.stringify(c), kind: bot ? 'bot' : 'click', click: c };
  }
}

export interface AdClickCounts {
  records: number;
  clicks: number;
  bots: number;
  duplicates: number;
  malformed: number;
  /** Distinct valid non-bot clicks whose ad has no campaign. */
  withoutCampaign: number;
}

/** The distinct clicks that must land (valid, not from a bot range), and the counts of the mix. */
export function expectedClicks(o: AdClickOptions): { clicks: Click[]; counts: AdClickCounts } {
  const counts = noCounts();
  const clicks: Click[] = [];
  for (const rec of adClicks(o)) {
    count(counts, rec, o);
    if (rec.kind === 'click') clicks.push(rec.click!);
  }
  return { clicks, counts };
}

const noCounts = (): AdClickCounts => ({
  records: 0,
  clicks: 0,
  bots: 0,
  duplicates: 0,
  malformed: 0,
  withoutCampaign: 0,
});

/** Adds one record of the scenario to the counts of its mix. */
function count(counts: AdClickCounts, rec: ClickRecord, o: AdClickOptions): void {
  counts.records++;
  if (rec.kind === 'duplicate') counts.duplicates++;
  else if (rec.kind === 'malformed') counts.malformed++;
  else if (rec.kind === 'bot') counts.bots++;
  else {
    counts.clicks++;
    if (!hasCampaign(rec.click!.ad_id, o)) counts.withoutCampaign++;
  }
}

export interface ProduceAdClicksOptions extends AdClickOptions {
  brokers: string[];
  topic: string;
  partitions?: number;
  /** Records per produce request. */
  batchSize?: number;
}

/** Produces the scenario's records to `topic` (created when missing); returns the mix's counts. */
export async function produceAdClicks(o: ProduceAdClicksOptions): Promise<AdClickCounts> {
  const kafka = createGeneratorKafka({
    brokers: o.brokers,
    clientId: 'weir-adclicks',
    ssl: false,
    sasl: undefined,
    connectionTimeoutMs: 10_000,
    retries: 5,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const counts = noCounts();
  try {
    await admin.connect();
    await ensureTopic(admin, o.topic, o.partitions ?? 4, () => undefined);
    await producer.connect();
    let batch: Message[] = [];
    const send = async () => {
      if (batch.length === 0) return;
      await producer.send({ topic: o.topic, messages: batch, acks: -1 });
      batch = [];
    };
    for (const rec of adClicks(o)) {
      count(counts, rec, o);
      batch.push({ key: rec.key, value: rec.value });
      if (batch.length >= (o.batchSize ?? 2000)) await send();
    }
    await send();
    return counts;
  } finally {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
  }
}
