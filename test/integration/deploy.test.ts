// The bundled telemetry stack and deployment assets, checked with real tools since there is no
// Docker engine here: the Compose file against the Compose Specification's JSON schema and for
// internal consistency, Prometheus rules with promtool (check + unit tests), Coroot's config and
// dashboard, the Grafana dashboard, the Kubernetes manifests, and the container image's build
// steps run for real (npm ci, build, npm ci --omit=dev, then the built agent against the stack).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { parseConfigText } from '../../src/config/load.ts';
import { apiTokenProblem } from '../../src/config/schema.ts';
import { catalogue as metricSpecs, catalogueNames } from '../../src/telemetry/metrics.ts';
import { getText, metricValue, waitUntil } from '../helpers/agent.ts';
import { generate, pipelineFixture, tableCounts } from '../helpers/pipeline.ts';
import {
  checkPromQL,
  childEnv,
  dockerIncluded,
  emulateDockerfile,
  ensureTool,
  filesUnder,
  interpolateCompose,
  isRecord,
  parseDockerfile,
  parseEnvFile,
  promtool,
  readText,
  readYaml,
  readYamlDocs,
  repo,
  repoPath,
  run,
  runAsync,
  weirMetricNames,
  weirRecordingNames,
} from '../helpers/deploy.ts';

type Obj = Record<string, unknown>;

const obj = (v: unknown, what: string): Obj => {
  assert.ok(isRecord(v), `${what} should be a mapping`);
  return v;
};
const arr = (v: unknown, what: string): unknown[] => {
  assert.ok(Array.isArray(v), `${what} should be a list`);
  return v;
};
const str = (v: unknown, what: string): string => {
  assert.equal(typeof v, 'string', `${what} should be a string`);
  return v as string;
};

// ------------------------------------------------------------------ shared facts

const envExample = parseEnvFile(readText('.env.example'));
const composeRaw = readYaml('docker-compose.yml');
const composed = interpolateCompose(composeRaw, envExample);
const compose = obj(composed.value, 'docker-compose.yml');
const services = obj(compose.services, 'services');
const service = (name: string): Obj => obj(services[name], `service ${name}`);

function envOf(svc: Obj): Record<string, string> {
  const e = svc.environment;
  if (Array.isArray(e))
    return Object.fromEntries(
      e.map((x) => String(x).split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
  return Object.fromEntries(
    Object.entries(obj(e ?? {}, 'environment')).map(([k, v]) => [k, String(v)]),
  );
}

function volumeEntries(svc: Obj): { source: string; target: string }[] {
  return ((svc.volumes as unknown[] | undefined) ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      return { source: source!, target: target! };
    }
    const o = obj(v, 'volume');
    return { source: String(o.source), target: String(o.target) };
  });
}

const alertRulesFile = 'deploy/prometheus/rules/weir-alerts.rules.yml';
const sliRulesFile = 'deploy/prometheus/rules/weir-sli.rules.yml';

interface PromRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}
const rulesOf = (file: string): PromRule[] =>
  arr(obj(readYaml(file), file).groups, 'groups').flatMap(
    (g) => arr(obj(g, 'group').rules, 'rules') as PromRule[],
  );
const alertRules = rulesOf(alertRulesFile).filter((r) => r.alert);
const recordingRules = rulesOf(sliRulesFile).filter((r) => r.record);
const recordedNames = new Set(recordingRules.map((r) => r.record!));

const corootConfigText = readText('coroot/config.yaml');
const corootConfig = obj(YAML.parse(corootConfigText), 'coroot/config.yaml');
const corootProject = obj(arr(corootConfig.projects, 'projects')[0], 'project');
const corootRules = arr(corootProject.alertingRules, 'alertingRules').map((r) => obj(r, 'rule'));

const normalize = (expr: string) => expr.replace(/\s+/g, ' ').trim();

before(() => {
  // Debian's prometheus package brings promtool; curl runs the Coroot dashboard installer.
  ensureTool('promtool', 'prometheus');
  ensureTool('curl', 'curl');
});

// ------------------------------------------------------------------ docker-compose.yml

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification JSON schema', () => {
    // The schema file is compose-spec's own, as shipped in the dclint npm package.
    const require = createRequire(import.meta.url);
    const schemaPath = join(
      require.resolve('dclint/package.json').replace(/package\.json$/, ''),
      'schemas',
      'compose.schema.json',
    );
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Obj;
    assert.equal(schema.title, 'Compose Specification');
    // The file names its draft by an https URL Ajv does not know; it is draft-07, Ajv's default.
    const ajv = new Ajv({
      allErrors: true,
      strict: false,
      validateFormats: false,
      validateSchema: false,
    });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    assert.ok(ok, `schema errors:\n${ajv.errorsText(validate.errors, { separator: '\n' })}`);
    // And a broken file is caught, so the check above means something.
    const broken = structuredClone(compose);
    obj(obj(broken.services, 'services').weir, 'weir').ports = 8090;
    assert.equal(validate(broken), false);
  });

  it('defines every variable it uses in .env.example, and uses every one defined there', () => {
    assert.deepEqual(composed.missing, [], 'required variables missing from .env.example');
    const used = [...composed.refs.keys()].sort();
    for (const name of used) assert.ok(envExample.has(name), `${name} is not in .env.example`);
    for (const name of envExample.keys())
      assert.ok(composed.refs.has(name), `.env.example defines ${name}, which no service uses`);
    // Secrets have no default in the compose file: a missing .env fails loudly.
    for (const secret of [
      'CLICKHOUSE_PASSWORD',
      'COROOT_API_KEY',
      'COROOT_CLICKHOUSE_PASSWORD',
      'WEIR_API_TOKEN',
    ])
      assert.equal(composed.refs.get(secret)?.required, true, `${secret} should be required`);
  });

  it('names every container after its service and pins every image', () => {
    const names = new Set<string>();
    for (const [name, raw] of Object.entries(services)) {
      const svc = obj(raw, name);
      assert.equal(svc.container_name, name, `${name}: container_name`);
      assert.ok(!names.has(name));
      names.add(name);
      const image = str(svc.image, `${name}.image`);
      const tag = /:([^/:]+)$/.exec(image)?.[1];
      assert.ok(tag && tag !== 'latest' && /\d/.test(tag), `${name}: image ${image} is not pinned`);
    }
    for (const name of [
      'kafka',
      'nats',
      'clickhouse',
      'postgres',
      'weir',
      'weir-loadgen',
      'prometheus',
    ])
      assert.ok(names.has(name), `missing service ${name}`);
    for (const name of ['coroot', 'coroot-clickhouse', 'coroot-node-agent', 'grafana'])
      assert.ok(names.has(name), `missing service ${name}`);
  });

  it('declares every named volume it mounts, mounts every one it declares, and binds only existing paths', () => {
    const declared = new Set(Object.keys(obj(compose.volumes, 'volumes')));
    const usedNamed = new Set<string>();
    const kernelPaths = ['/sys/kernel/tracing', '/sys/kernel/debug', '/sys/fs/cgroup'];
    for (const [name, raw] of Object.entries(services)) {
      for (const { source, target } of volumeEntries(obj(raw, name))) {
        assert.ok(target.startsWith('/'), `${name}: target ${target}`);
        if (source.startsWith('./')) {
          assert.ok(existsSync(repoPath(source)), `${name}: ${source} does not exist`);
        } else if (source.startsWith('/')) {
          assert.ok(kernelPaths.includes(source), `${name}: unexpected host path ${source}`);
        } else {
          assert.ok(declared.has(source), `${name}: volume ${source} is not declared`);
          usedNamed.add(source);
        }
      }
    }
    assert.deepEqual([...declared].sort(), [...usedNamed].sort(), 'declared but unused volumes');
  });

  it('depends only on existing services, and waits for health only where there is a healthcheck', () => {
    for (const [name, raw] of Object.entries(services)) {
      const deps = obj(raw, name).depends_on;
      if (deps === undefined) continue;
      const entries = Array.isArray(deps)
        ? deps.map((d) => [String(d), 'service_started'] as const)
        : Object.entries(obj(deps, `${name}.depends_on`)).map(
            ([d, c]) => [d, str(obj(c, d).condition, `${name} -> ${d}`)] as const,
          );
      for (const [dep, condition] of entries) {
        const target = obj(services[dep], `${name} depends on ${dep}`);
        if (condition === 'service_healthy') {
          const hc = obj(target.healthcheck, `${dep}.healthcheck (needed by ${name})`);
          assert.notEqual(hc.disable, true);
        }
        if (condition === 'service_completed_successfully')
          assert.equal(target.restart, 'no', `${dep} must run once for ${name} to wait on it`);
        assert.ok(
          !target.profiles || obj(raw, name).profiles,
          `${name} depends on optional ${dep}`,
        );
      }
    }
    // The data path starts in order.
    const weirDeps = obj(service('weir').depends_on, 'weir.depends_on');
    assert.deepEqual(Object.keys(weirDeps).sort(), ['clickhouse', 'kafka-setup', 'nats']);
  });

  it('publishes each host port once, and the ports README.md tells people to open', () => {
    const published = new Map<string, string>();
    for (const [name, raw] of Object.entries(services)) {
      for (const p of (obj(raw, name).ports as unknown[] | undefined) ?? []) {
        const host = String(p).split(':').at(-2) ?? String(p);
        assert.ok(!published.has(host), `host port ${host}: ${published.get(host)} and ${name}`);
        published.set(host, name);
      }
    }
    assert.equal(published.get('8080'), 'coroot');
    assert.equal(published.get('8090'), 'weir');
    assert.equal(published.get('9090'), 'prometheus');
    assert.equal(published.get('3000'), 'grafana');
  });

  it("sends Weir's traces to Coroot as OTLP protobuf, named after the container", () => {
    for (const name of ['weir', 'weir-loadgen']) {
      const env = envOf(service(name));
      assert.equal(env.OTEL_SERVICE_NAME, name);
      assert.equal(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, 'http/protobuf');
      assert.equal(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'http://coroot:8080/v1/traces');
      assert.equal(
        env.OTEL_EXPORTER_OTLP_TRACES_HEADERS,
        `x-api-key=${envExample.get('COROOT_API_KEY')}`,
      );
    }
    const weir = service('weir');
    assert.deepEqual(obj(weir.build, 'weir.build'), {
      context: '.',
      dockerfile: 'deploy/Dockerfile',
    });
    assert.equal(
      service('weir-loadgen').image,
      weir.image,
      'the load generator runs the Weir image',
    );
    assert.equal(arr(service('weir-loadgen').command, 'command')[0], 'generate');
    // The config Weir runs is the demo pipeline, pointed at the compose services.
    const mount = volumeEntries(weir).find((v) => v.target === '/etc/weir/weir.yaml');
    assert.equal(mount?.source, './examples/demo.yaml');
    const cfg = parseConfigText(readText('examples/demo.yaml'), 'yaml', envOf(weir));
    assert.deepEqual(cfg.pipelines[0]?.source.brokers, ['kafka:9092']);
    assert.equal(cfg.pipelines[0]?.sink.clickhouse.url, 'http://clickhouse:8123');
    assert.equal(cfg.agent.http.port, 8090);
  });

  it('runs Kafka in KRaft mode and NATS with JetStream and monitoring', () => {
    const kafka = envOf(service('kafka'));
    assert.equal(kafka.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.ok(!('KAFKA_ZOOKEEPER_CONNECT' in kafka));
    const nats = arr(service('nats').command, 'nats.command').map(String);
    assert.ok(nats.includes('-js') && nats.includes('-m'));
    const setup = arr(service('kafka-setup').command, 'kafka-setup.command').join(' ');
    for (const topic of ['weir-demo-orders', 'weir.orders.dlq'])
      assert.match(setup, new RegExp(topic));
  });

  it("runs PostgreSQL 16 with the local stack's role, password and database, checked over TCP", () => {
    const pg = service('postgres');
    assert.match(str(pg.image, 'postgres.image'), /^postgres:16(\.\d+)*$/);
    const env = envOf(pg);
    assert.deepEqual(
      [env.POSTGRES_USER, env.POSTGRES_PASSWORD, env.POSTGRES_DB],
      ['weir', 'weir', 'weir'],
    );
    assert.equal(env.POSTGRES_HOST_AUTH_METHOD, 'scram-sha-256');
    const test = arr(obj(pg.healthcheck, 'postgres.healthcheck').test, 'test').map(String);
    assert.ok(test.includes('pg_isready') && test.includes('127.0.0.1'), test.join(' '));
    assert.deepEqual(volumeEntries(pg), [
      { source: 'postgres-data', target: '/var/lib/postgresql/data' },
    ]);
    // Published on the host's loopback only.
    assert.deepEqual(pg.ports, ['127.0.0.1:5432:5432']);
  });

  it('runs Coroot 1.18 or later with its own ClickHouse, and the node-agent privileged on the host', () => {
    const coroot = service('coroot');
    const version = /:(\d+)\.(\d+)\.(\d+)$/.exec(str(coroot.image, 'coroot.image'));
    assert.ok(version, 'coroot image tag is a version without a leading v');
    assert.ok(Number(version[1]) > 1 || (Number(version[1]) === 1 && Number(version[2]) >= 18));
    assert.ok(arr(coroot.command, 'coroot.command').includes('--config=/etc/coroot/config.yaml'));
    assert.ok(volumeEntries(coroot).some((v) => v.source === './coroot/config.yaml'));
    const agent = service('coroot-node-agent');
    assert.equal(agent.privileged, true);
    assert.equal(agent.pid, 'host');
    const targets = volumeEntries(agent).map((v) => `${v.source}:${v.target}`);
    for (const m of [
      '/sys/kernel/tracing:/sys/kernel/tracing',
      '/sys/kernel/debug:/sys/kernel/debug',
      '/sys/fs/cgroup:/host/sys/fs/cgroup',
    ])
      assert.ok(targets.includes(m), `node-agent mount ${m}`);
    assert.ok(
      arr(agent.command, 'agent.command').includes('--collector-endpoint=http://coroot:8080'),
    );
    const corootGlobalCh = obj(corootConfig.global_clickhouse, 'global_clickhouse');
    assert.equal(corootGlobalCh.address, 'coroot-clickhouse:9000');
    assert.equal(envOf(service('coroot-clickhouse')).CLICKHOUSE_USER, corootGlobalCh.user);
  });

  it('keeps Grafana behind a profile, provisioned with the datasource uid the dashboard uses', () => {
    assert.deepEqual(service('grafana').profiles, ['grafana']);
    for (const [name, raw] of Object.entries(services))
      if (name !== 'grafana') assert.equal(obj(raw, name).profiles, undefined, `${name} profile`);
    const ds = obj(
      arr(
        obj(readYaml('deploy/compose/grafana/provisioning/datasources/prometheus.yml'), 'ds')
          .datasources,
        'datasources',
      )[0],
      'datasource',
    );
    assert.equal(ds.uid, 'prometheus');
    assert.equal(ds.url, 'http://prometheus:9090');
    const provider = obj(
      arr(
        obj(readYaml('deploy/compose/grafana/provisioning/dashboards/weir.yml'), 'p').providers,
        'providers',
      )[0],
      'provider',
    );
    const dashboardsMount = volumeEntries(service('grafana')).find(
      (v) => v.target === obj(provider.options, 'options').path,
    );
    assert.equal(dashboardsMount?.source, './dashboards/grafana');
  });

  it("Prometheus's config is valid, loads Weir's rules and scrapes services that exist", () => {
    const prom = service('prometheus');
    const mounts = volumeEntries(prom);
    assert.ok(
      mounts.some(
        (m) => m.source === './deploy/prometheus/rules' && m.target === '/etc/prometheus/rules',
      ),
    );
    const configMount = mounts.find((m) => m.target === '/etc/prometheus/prometheus.yml');
    assert.equal(configMount?.source, './deploy/compose/prometheus.yml');
    const config = obj(readYaml('deploy/compose/prometheus.yml'), 'prometheus.yml');
    // promtool checks the config together with the files it names: the rules, read from the
    // repo, and Weir's token file (which compose mounts), written here.
    const dir = mkdtempSync(join(tmpdir(), 'weir-prom-'));
    writeFileSync(join(dir, 'weir-api-token'), envExample.get('WEIR_API_TOKEN') ?? '');
    const local = {
      ...config,
      rule_files: [repoPath('deploy/prometheus/rules/*.rules.yml')],
      scrape_configs: arr(config.scrape_configs, 'scrape_configs').map((raw) => {
        const job = obj(raw, 'scrape');
        if (!isRecord(job.authorization)) return job;
        const credentials_file = join(dir, 'weir-api-token');
        return { ...job, authorization: { ...job.authorization, credentials_file } };
      }),
    };
    writeFileSync(join(dir, 'prometheus.yml'), YAML.stringify(local));
    const res = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /SUCCESS: \d+ rules found/);
    assert.deepEqual(config.rule_files, ['/etc/prometheus/rules/*.rules.yml']);
    const jobs = arr(config.scrape_configs, 'scrape_configs').map((s) => obj(s, 'scrape'));
    for (const job of jobs) {
      for (const sc of arr(job.static_configs, 'static_configs')) {
        for (const t of arr(obj(sc, 'static').targets, 'targets')) {
          const host = String(t).split(':')[0]!;
          if (host !== 'localhost')
            assert.ok(services[host], `${String(job.job_name)} scrapes ${host}, not a service`);
        }
      }
    }
    assert.deepEqual(
      jobs.map((j) => j.job_name),
      ['weir', 'kafka', 'nats', 'clickhouse', 'prometheus'],
    );
    // ClickHouse serves the scraped port, Weir the one its config listens on.
    assert.match(readText('deploy/compose/clickhouse/weir.xml'), /<port>9363<\/port>/);
    assert.ok(arr(prom.command, 'prom.command').includes('--web.enable-remote-write-receiver'));
  });

  it("guards Weir's API with a token from .env, and Prometheus scrapes with the same one", () => {
    const token = envOf(service('weir')).WEIR_API_TOKEN;
    assert.equal(token, envExample.get('WEIR_API_TOKEN'));
    // The demo value in .env.example is one the agent accepts, so the stack starts as copied.
    assert.equal(apiTokenProblem(str(token, 'WEIR_API_TOKEN')), undefined);
    // Prometheus gets it as a file: an inline config holding the same interpolated value.
    const configs = obj(compose.configs, 'configs');
    assert.equal(obj(configs['weir-api-token'], 'weir-api-token').content, token);
    const mounted = arr(service('prometheus').configs, 'prometheus.configs').map((c) =>
      obj(c, 'config'),
    );
    const file = mounted.find((c) => c.source === 'weir-api-token')?.target;
    const config = obj(readYaml('deploy/compose/prometheus.yml'), 'prometheus.yml');
    const weirJob = arr(config.scrape_configs, 'scrape_configs')
      .map((j) => obj(j, 'scrape'))
      .find((j) => j.job_name === 'weir');
    assert.deepEqual(obj(weirJob, 'weir job').authorization, {
      type: 'Bearer',
      credentials_file: file,
    });
    // The probe of the weir container stays on /healthz, which needs no token.
    const healthcheck = obj(service('weir').healthcheck, 'weir.healthcheck');
    assert.match(arr(healthcheck.test, 'test').join(' '), /\/healthz/);
  });
});

// ------------------------------------------------------------------ Prometheus rules

describe('Prometheus rules (deploy/prometheus)', () => {
  const ruleFiles = filesUnder('deploy/prometheus/rules');
  const testFiles = filesUnder('deploy/prometheus/tests');

  it('pass promtool check rules', () => {
    const res = promtool(['check', 'rules', ...ruleFiles]);
    assert.equal(res.status, 0, res.output);
  });

  it('pass their promtool unit tests', () => {
    const res = promtool(['test', 'rules', ...testFiles]);
    assert.equal(res.status, 0, res.output);
    assert.equal((res.output.match(/SUCCESS/g) ?? []).length, testFiles.length, res.output);
  });

  it('test every alert both firing and staying quiet', () => {
    const fired = new Set<string>();
    const quiet = new Set<string>();
    for (const file of testFiles) {
      for (const t of arr(obj(readYaml(file), file).tests, 'tests')) {
        for (const c of (obj(t, 'test').alert_rule_test as unknown[] | undefined) ?? []) {
          const art = obj(c, 'alert_rule_test');
          const name = str(art.alertname, 'alertname');
          const exp = (art.exp_alerts as unknown[] | undefined) ?? [];
          (exp.length > 0 ? fired : quiet).add(name);
        }
      }
    }
    for (const rule of alertRules) {
      assert.ok(fired.has(rule.alert!), `no test where ${rule.alert} fires`);
      assert.ok(quiet.has(rule.alert!), `no test where ${rule.alert} stays quiet`);
    }
  });

  it('page on 1h/5m at 14.4x or 6h/30m at 6x, ticket on 1d/2h at 3x or 3d/6h at 1x', () => {
    const budgets: Record<string, number> = { delivery: 0.001, latency: 0.01, freshness: 0.01 };
    const burn = alertRules.filter((r) => r.labels?.slo);
    assert.equal(burn.length, 6);
    for (const rule of burn) {
      const slo = rule.labels!.slo!;
      const fast = rule.alert!.endsWith('Fast');
      const pairs = fast
        ? [
            ['1h', '5m', '14.4'],
            ['6h', '30m', '6'],
          ]
        : [
            ['1d', '2h', '3'],
            ['3d', '6h', '1'],
          ];
      const expected = pairs
        .map(
          ([long, short, factor]) =>
            `( weir:${slo}_errors:ratio_rate${long} > (${factor} * ${budgets[slo]}) and weir:${slo}_errors:ratio_rate${short} > (${factor} * ${budgets[slo]}) )`,
        )
        .join(' or ');
      assert.equal(normalize(rule.expr), expected, rule.alert);
      assert.equal(rule.labels!.severity, fast ? 'critical' : 'warning');
    }
    const plain = alertRules.filter((r) => !r.labels?.slo).map((r) => r.alert);
    for (const a of [
      'WeirPipelineStalled',
      'WeirConsumerLagGrowing',
      'WeirDeadLetterRateHigh',
      'WeirInsertErrors',
    ])
      assert.ok(plain.includes(a), `missing ${a}`);
  });

  it('record every weir: series the alerts, dashboards and Coroot read, under weir:<what>:<op> names', () => {
    for (const name of recordedNames) assert.match(name, /^weir:[a-z_]+:[a-z0-9_]+$/);
    for (const file of [alertRulesFile, ...filesUnder('dashboards'), 'coroot/config.yaml']) {
      for (const name of weirRecordingNames(readText(file)))
        assert.ok(recordedNames.has(name), `${file} reads ${name}, which no rule records`);
    }
    for (const slo of ['delivery', 'latency', 'freshness'])
      for (const w of ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'])
        assert.ok(recordedNames.has(`weir:${slo}_errors:ratio_rate${w}`), `${slo} ${w}`);
  });
});

// ------------------------------------------------------------------ metric names

describe('metric names in dashboards/, deploy/ and coroot/', () => {
  it("are all in Weir's metric catalogue (histograms with their series suffixes)", () => {
    const catalogue = new Set(catalogueNames());
    const histograms = new Set(
      metricSpecs()
        .filter((m) => m.type === 'histogram')
        .map((m) => m.name),
    );
    const known = (name: string) => {
      if (catalogue.has(name)) return true;
      const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
      return base !== undefined && histograms.has(base);
    };
    const files = [...filesUnder('dashboards'), ...filesUnder('deploy'), ...filesUnder('coroot')];
    const used = new Set<string>();
    for (const file of files) {
      for (const name of weirMetricNames(readText(file))) {
        assert.ok(known(name), `${file}: ${name} is not in src/telemetry/metrics.ts`);
        used.add(name);
      }
    }
    for (const sli of [
      'weir_sli_records_delivered_total',
      'weir_sli_records_total',
      'weir_consumer_lag_records',
    ])
      assert.ok(used.has(sli), `${sli} is not used`);
  });
});

// ------------------------------------------------------------------ Coroot

describe('Coroot config (coroot/)', () => {
  const passed = envOf(service('coroot'));

  it('has no $ except references to variables the coroot container receives', () => {
    for (const file of ['coroot/config.yaml', 'coroot/webhook.example.yaml']) {
      const text = readText(file);
      const refs = [...text.matchAll(/\$/g)].map((m) => text.slice(m.index, m.index + 60));
      for (const ref of refs) {
        const name = /^\$\{([A-Z][A-Z0-9_]*)\}/.exec(ref)?.[1];
        assert.ok(name, `${file}: a $ that is not a \${VAR} reference: ${ref}`);
        assert.ok(name in passed, `${file}: ${name} is not passed to the coroot container`);
        assert.ok(envExample.has(name), `${file}: ${name} is not in .env.example`);
      }
    }
    assert.deepEqual([...corootConfigText.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]).sort(), [
      'COROOT_API_KEY',
      'COROOT_CLICKHOUSE_PASSWORD',
    ]);
  });

  it('predefines the project: API key, categories and the Kafka long-poll latency override', () => {
    assert.equal(corootProject.name, 'weir');
    const keys = arr(corootProject.apiKeys, 'apiKeys').map((k) => obj(k, 'key'));
    assert.equal(keys[0]?.key, '${COROOT_API_KEY}');
    const categories = arr(corootProject.applicationCategories, 'categories').map((c) =>
      obj(c, 'c'),
    );
    const byName = new Map(categories.map((c) => [str(c.name, 'name'), c]));
    assert.deepEqual([...byName.keys()], ['pipeline', 'data-services', 'monitoring']);
    const patterns = categories.flatMap((c) => arr(c.customPatterns, 'customPatterns').map(String));
    for (const p of patterns) assert.match(p, /^[^/]+\/[^/]+$/, `${p}: <namespace>/<application>`);
    // Every compose container lands in exactly one category.
    const glob = (p: string) =>
      new RegExp(
        `^${p
          .split('*')
          .map((s) => s.replace(/[.-]/g, '\\$&'))
          .join('.*')}$`,
      );
    for (const name of Object.keys(services)) {
      const hits = categories.filter((c) =>
        arr(c.customPatterns, 'p').some((p) => glob(String(p)).test(`_/${name}`)),
      );
      assert.equal(hits.length, 1, `${name} matches ${hits.length} categories`);
    }
    const overrides = obj(corootProject.inspectionOverrides, 'inspectionOverrides');
    const latency = arr(overrides.sloLatency, 'sloLatency').map((o) => obj(o, 'o'));
    const kafka = latency.find((o) => o.applicationId === '_:Unknown:kafka');
    assert.ok(kafka, 'latency override for kafka');
    const buckets = [
      '5ms',
      '10ms',
      '25ms',
      '50ms',
      '100ms',
      '250ms',
      '500ms',
      '1s',
      '2.5s',
      '5s',
      '10s',
    ];
    assert.ok(buckets.includes(String(kafka.objectiveThreshold)));
    assert.ok(Number(kafka.objectivePercent) > 0 && Number(kafka.objectivePercent) <= 100);
    const prom = obj(corootConfig.global_prometheus, 'global_prometheus');
    assert.equal(prom.url, 'http://prometheus:9090');
  });

  it("carries Weir's burn-rate alerts as promql rules, identical to Prometheus's", () => {
    const ids = corootRules.map((r) => str(r.id, 'id'));
    assert.equal(new Set(ids).size, ids.length, 'rule ids are unique');
    const exprs: Record<string, string> = {};
    for (const rule of corootRules) {
      const id = String(rule.id);
      const source = obj(rule.source, `${id}.source`);
      assert.equal(source.type, 'promql');
      const expr = str(obj(source.promql, `${id}.promql`).expression, `${id} expression`);
      exprs[id] = expr;
      assert.ok(['warning', 'critical'].includes(String(rule.severity)), `${id} severity`);
      assert.match(String(rule.for), /^\d+[smh]$/);
      assert.match(String(rule.keepFiringFor), /^\d+[smh]$/);
      assert.equal(rule.notificationCategory, 'pipeline');
      assert.ok(str(rule.name, 'name').length > 0);
      assert.ok(str(obj(rule.templates, 'templates').summary, 'summary').includes('{{.pipeline}}'));
      const twin = alertRules.find((a) => normalize(a.expr) === normalize(expr));
      assert.ok(twin, `${id}: no Prometheus alert has the same expression`);
      assert.equal(rule.severity, twin.labels?.severity, `${id} severity matches ${twin.alert}`);
      assert.equal(rule.for, twin.for, `${id} for matches ${twin.alert}`);
    }
    const res = checkPromQL(exprs);
    assert.ok(res.ok, res.output);
    const burn = alertRules.filter((r) => r.labels?.slo);
    for (const rule of burn)
      assert.ok(
        Object.values(exprs).some((e) => normalize(e) === normalize(rule.expr)),
        `${rule.alert} is missing from Coroot`,
      );
  });

  it('documents a webhook and Slack target that Coroot would accept', () => {
    const example = obj(YAML.parse(readText('coroot/webhook.example.yaml')), 'webhook example');
    const project = obj(arr(example.projects, 'projects')[0], 'project');
    assert.equal(project.name, corootProject.name);
    const integrations = obj(project.notificationIntegrations, 'notificationIntegrations');
    assert.match(str(integrations.baseURL, 'baseURL'), /^https?:\/\//);
    const webhook = obj(integrations.webhook, 'webhook');
    assert.equal(webhook.url, '${COROOT_WEBHOOK_URL}');
    assert.equal(webhook.alerts, true);
    assert.ok(str(webhook.alertTemplate, 'alertTemplate').includes('{{ .RuleName }}'));
    for (const kind of ['incidents', 'deployments'] as const)
      if (webhook[kind] === true) assert.ok(webhook[`${kind.slice(0, -1)}Template`]);
    const slack = obj(integrations.slack, 'slack');
    assert.ok(slack.token && slack.defaultChannel);
    const category = obj(arr(project.applicationCategories, 'categories')[0], 'category');
    assert.equal(category.name, 'pipeline');
    const alerts = obj(obj(category.notificationSettings, 'settings').alerts, 'alerts');
    assert.equal(obj(alerts.webhook, 'webhook').enabled, true);
  });
});

// ------------------------------------------------------------------ dashboards

describe('dashboards/', () => {
  interface GrafanaPanel {
    id: number;
    type: string;
    title: string;
    datasource?: { type: string; uid: string };
    gridPos: { x: number; y: number; w: number; h: number };
    targets?: { expr: string; datasource?: { uid: string }; refId: string }[];
  }
  const grafanaText = readText('dashboards/grafana/weir.json');
  const grafana = JSON.parse(grafanaText) as {
    uid: string;
    title: string;
    panels: GrafanaPanel[];
    templating: { list: { name: string; datasource: { uid: string } }[] };
    __inputs?: unknown;
  };

  it('the Grafana dashboard is provisionable: fixed datasource uid, no import placeholders', () => {
    assert.equal(grafana.__inputs, undefined);
    assert.doesNotMatch(grafanaText, /\$\{DS_/);
    assert.equal(grafana.uid, 'weir-pipelines');
    const uids = new Set<string>();
    for (const p of grafana.panels) {
      if (p.type === 'row') continue;
      uids.add(p.datasource!.uid);
      for (const t of p.targets ?? []) uids.add(t.datasource!.uid);
    }
    for (const v of grafana.templating.list) uids.add(v.datasource.uid);
    assert.deepEqual([...uids], ['prometheus']);
  });

  it('the Grafana dashboard has the rows asked for, a sane layout and valid PromQL', () => {
    const rows = grafana.panels.filter((p) => p.type === 'row').map((p) => p.title);
    assert.deepEqual(rows, [
      'Throughput',
      'Freshness, lag and end-to-end latency',
      'ClickHouse inserts',
      'Dedup and join',
      'State store',
      'SLO budget and burn',
    ]);
    const ids = grafana.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const cells = new Set<string>();
    for (const p of grafana.panels) {
      assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits 24 columns`);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel`);
          cells.add(`${x},${y}`);
        }
    }
    const exprs: Record<string, string> = {};
    for (const p of grafana.panels)
      for (const t of p.targets ?? [])
        exprs[`${p.title} ${t.refId}`] = t.expr
          .replaceAll('$__rate_interval', '5m')
          .replaceAll('$pipeline', '.*');
    assert.ok(Object.keys(exprs).length > 30);
    const res = checkPromQL(exprs);
    assert.ok(res.ok, res.output);
    assert.match(grafanaText, /reason=\\"duplicate\\"/);
    assert.match(grafanaText, /weir_state_op_duration_seconds_bucket/);
  });

  interface CorootDashboard {
    name: string;
    description: string;
    config: {
      groups: {
        name: string;
        collapsed: boolean;
        panels: {
          name: string;
          source: { metrics: { queries: { query: string; legend: string }[] } };
          widget: { chart: { display: string; stacked: boolean } };
          box: { x: number; y: number; w: number; h: number };
        }[];
      }[];
    };
  }
  const corootDashboard = JSON.parse(readText('dashboards/coroot/weir.json')) as CorootDashboard;

  it("the Coroot dashboard matches Coroot's dashboard model and queries valid PromQL", () => {
    assert.ok(corootDashboard.name);
    const exprs: Record<string, string> = {};
    for (const g of corootDashboard.config.groups) {
      assert.ok(g.name && typeof g.collapsed === 'boolean');
      const cells = new Set<string>();
      for (const p of g.panels) {
        assert.ok(p.name);
        assert.ok(['line', 'bar'].includes(p.widget.chart.display));
        // Coroot lays panels out on a 12-column grid.
        assert.ok(p.box.x >= 0 && p.box.x + p.box.w <= 12 && p.box.h > 0, `${p.name} box`);
        for (let x = p.box.x; x < p.box.x + p.box.w; x++)
          for (let y = p.box.y; y < p.box.y + p.box.h; y++) {
            assert.ok(!cells.has(`${x},${y}`), `${p.name} overlaps another panel`);
            cells.add(`${x},${y}`);
          }
        p.source.metrics.queries.forEach(
          (q, i) => (exprs[`${g.name} / ${p.name} #${i}`] = q.query),
        );
      }
    }
    const res = checkPromQL(exprs);
    assert.ok(res.ok, res.output);
  });

  describe('the Coroot dashboard installer', () => {
    const dashboards = new Map<string, { name: string; description: string; config?: unknown }>();
    const requests: string[] = [];
    let server: Server;
    let url = '';

    const body = async (req: IncomingMessage): Promise<Obj> => {
      let s = '';
      for await (const chunk of req) s += String(chunk);
      return obj(JSON.parse(s), 'request body');
    };

    before(async () => {
      // A stand-in for Coroot's API, as its handlers behave: POST with action=create answers 201
      // with the new id in the body, action=update renames, no action saves the config; every
      // form needs a name.
      server = createServer((req, res) => {
        void (async () => {
          requests.push(`${req.method} ${req.url}`);
          const send = (status: number, payload: unknown) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
          };
          if (req.method === 'GET' && req.url === '/api/user')
            return send(200, {
              name: 'Anonymous',
              projects: [
                { id: 'x0xwl4jz', name: 'weir' },
                { id: 'other1', name: 'staging' },
              ],
            });
          const m = /^\/api\/project\/x0xwl4jz\/dashboards(?:\/(\w+))?$/.exec(req.url ?? '');
          if (!m) return send(404, 'not found');
          if (req.method === 'GET' && !m[1])
            return send(200, {
              context: {},
              data: [...dashboards].map(([id, d]) => ({
                id,
                name: d.name,
                description: d.description,
              })),
            });
          if (req.method !== 'POST') return send(405, '');
          const form = await body(req);
          const name = typeof form.name === 'string' ? form.name : '';
          const description = typeof form.description === 'string' ? form.description : '';
          if (!name) return send(400, '');
          if (!m[1] && form.action === 'create') {
            const id = `d${dashboards.size + 1}`;
            dashboards.set(id, { name, description });
            return send(201, `${id}\n`);
          }
          const existing = m[1] ? dashboards.get(m[1]) : undefined;
          if (!existing) return send(404, 'Dashboard not found');
          if (form.action === 'update') Object.assign(existing, { name, description });
          else existing.config = form.config;
          return send(200, '');
        })();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const install = (env: NodeJS.ProcessEnv = {}) =>
      runAsync('bash', [repoPath('dashboards/coroot/install.sh')], {
        env: { COROOT_URL: url, ...env },
      });

    it('creates the dashboard in the named project, then updates it in place', async () => {
      const first = await install();
      assert.equal(first.status, 0, first.output);
      assert.match(first.output, /created dashboard 'Weir pipelines' \(d1\)/);
      assert.deepEqual(dashboards.get('d1')?.config, corootDashboard.config);
      const second = await install();
      assert.equal(second.status, 0, second.output);
      assert.match(second.output, /updating dashboard 'Weir pipelines' \(d1\)/);
      assert.equal(dashboards.size, 1);
      assert.deepEqual(dashboards.get('d1')?.config, corootDashboard.config);
      assert.ok(requests.every((r) => !r.includes('other1')));
    });

    it('fails with a clear message for an unknown project or an unreachable Coroot', async () => {
      const missing = await install({ COROOT_PROJECT: 'nope' });
      assert.notEqual(missing.status, 0);
      assert.match(missing.output, /no Coroot project named 'nope'/);
      const down = await install({ COROOT_URL: 'http://127.0.0.1:1' });
      assert.notEqual(down.status, 0);
      assert.match(down.output, /cannot reach Coroot at http:\/\/127\.0\.0\.1:1/);
    });
  });
});

// ------------------------------------------------------------------ Kubernetes

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  const dir = 'deploy/kubernetes';
  const kustomization = obj(readYaml(`${dir}/kustomization.yaml`), 'kustomization');
  const resources = arr(kustomization.resources, 'resources').map(String);
  const docs = resources.flatMap((f) => readYamlDocs(`${dir}/${f}`).map((d) => obj(d, f)));
  const byKind = (kind: string) => {
    const found = docs.filter((d) => d.kind === kind);
    assert.equal(found.length, 1, `one ${kind}`);
    return found[0]!;
  };

  it('kustomization lists every manifest in the folder (but the examples)', () => {
    const files = filesUnder(dir)
      .map((f) => f.slice(dir.length + 1))
      .filter((f) => f !== 'kustomization.yaml' && !f.endsWith('.example.yaml'));
    assert.deepEqual([...resources].sort(), files);
    for (const d of docs) assert.ok(d.apiVersion && d.kind && obj(d.metadata, 'metadata').name);
  });

  it('runs the agent non-root with its config, health probes and a scraped metrics port', () => {
    const deployment = byKind('Deployment');
    const pod = obj(obj(obj(deployment.spec, 'spec').template, 'template').spec, 'pod spec');
    const container = obj(arr(pod.containers, 'containers')[0], 'container');
    assert.equal(obj(pod.securityContext, 'pod securityContext').runAsNonRoot, true);
    const csc = obj(container.securityContext, 'container securityContext');
    assert.equal(csc.allowPrivilegeEscalation, false);
    assert.equal(csc.readOnlyRootFilesystem, true);
    const ports = arr(container.ports, 'ports').map((p) => obj(p, 'port'));
    assert.deepEqual(ports, [{ name: 'metrics', containerPort: 8090 }]);
    const probe = (k: string) => obj(obj(container[k], k).httpGet, `${k}.httpGet`);
    assert.deepEqual(probe('livenessProbe'), { path: '/healthz', port: 'metrics' });
    assert.deepEqual(probe('readinessProbe'), { path: '/readyz', port: 'metrics' });
    assert.deepEqual(probe('startupProbe'), { path: '/healthz', port: 'metrics' });
    // The config file the args name is the ConfigMap's key, mounted where the args look.
    assert.deepEqual(container.args, ['run', '-c', '/etc/weir/weir.yaml']);
    const mount = obj(arr(container.volumeMounts, 'mounts')[0], 'mount');
    assert.equal(mount.mountPath, '/etc/weir');
    const volume = obj(arr(pod.volumes, 'volumes')[0], 'volume');
    assert.equal(volume.name, mount.name);
    const configMap = byKind('ConfigMap');
    assert.equal(obj(volume.configMap, 'configMap').name, obj(configMap.metadata, 'm').name);
    // Longer than the agent's own shutdown timeout, so a stop can flush and commit.
    const text = str(obj(configMap.data, 'data')['weir.yaml'], 'weir.yaml');
    const env: Record<string, string> = {};
    for (const e of arr(container.env, 'env').map((x) => obj(x, 'env')))
      env[str(e.name, 'env name')] = typeof e.value === 'string' ? e.value : 'from-a-secret';
    const cfg = parseConfigText(text, 'yaml', env, 'ConfigMap weir-config');
    assert.ok(Number(pod.terminationGracePeriodSeconds) * 1000 > cfg.agent.shutdown_timeout_ms);
    assert.equal(cfg.agent.http.port, 8090);
    assert.equal(env.OTEL_SERVICE_NAME, 'weir');
    assert.equal(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, 'http/protobuf');
  });

  it('the ServiceMonitor scrapes the Service that selects the agent', () => {
    const deployment = byKind('Deployment');
    const podLabels = obj(
      obj(obj(obj(deployment.spec, 's').template, 't').metadata, 'm').labels,
      'labels',
    );
    const svc = byKind('Service');
    const svcSpec = obj(svc.spec, 'spec');
    for (const [k, v] of Object.entries(obj(svcSpec.selector, 'selector')))
      assert.equal(podLabels[k], v);
    const monitor = byKind('ServiceMonitor');
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    const mspec = obj(monitor.spec, 'spec');
    const svcLabels = obj(obj(svc.metadata, 'm').labels, 'labels');
    for (const [k, v] of Object.entries(obj(obj(mspec.selector, 'sel').matchLabels, 'matchLabels')))
      assert.equal(svcLabels[k], v);
    const endpoint = obj(arr(mspec.endpoints, 'endpoints')[0], 'endpoint');
    const svcPorts = arr(svcSpec.ports, 'ports').map((p) => obj(p, 'p').name);
    assert.ok(svcPorts.includes(endpoint.port));
    assert.equal(endpoint.path, '/metrics');
  });

  it('the API token comes from weir-secrets; the ServiceMonitor sends it, the probes need none', () => {
    const pod = obj(
      obj(obj(byKind('Deployment').spec, 'spec').template, 'template').spec,
      'pod spec',
    );
    const container = obj(arr(pod.containers, 'containers')[0], 'container');
    const env = arr(container.env, 'env').map((e) => obj(e, 'env'));
    const secretRef = (name: string) =>
      obj(
        obj(env.find((e) => e.name === name)?.valueFrom, `${name}.valueFrom`).secretKeyRef,
        `${name} secretKeyRef`,
      );
    // Not optional: a pod without the key does not start, rather than serving an open API.
    assert.deepEqual(secretRef('WEIR_API_TOKEN'), { name: 'weir-secrets', key: 'api-token' });
    const endpoint = obj(arr(obj(byKind('ServiceMonitor').spec, 's').endpoints, 'e')[0], 'ep');
    assert.deepEqual(endpoint.authorization, {
      type: 'Bearer',
      credentials: { name: 'weir-secrets', key: 'api-token' },
    });
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const get = obj(obj(container[probe], probe).httpGet, `${probe}.httpGet`);
      assert.equal(get.httpHeaders, undefined, `${probe} sends no token`);
      assert.ok(['/healthz', '/readyz'].includes(str(get.path, `${probe}.path`)));
    }

    // The example Secret has every key the manifests read, and its token placeholder is one the
    // agent refuses, so a copy applied unchanged stops the agent instead of opening it.
    const [example] = readYamlDocs(`${dir}/secret.example.yaml`).map((d) => obj(d, 'Secret'));
    assert.equal(example?.kind, 'Secret');
    const meta = obj(example.metadata, 'metadata');
    assert.equal(meta.name, 'weir-secrets');
    assert.equal(meta.namespace, kustomization.namespace);
    const data = obj(example.stringData, 'stringData');
    const referenced = env
      .map((e) => (isRecord(e.valueFrom) ? e.valueFrom.secretKeyRef : undefined))
      .filter(isRecord);
    for (const ref of referenced) {
      assert.equal(ref.name, 'weir-secrets');
      assert.ok(str(ref.key, 'key') in data, `the example Secret lacks ${String(ref.key)}`);
    }
    assert.ok(apiTokenProblem(str(data['api-token'], 'api-token')));
    assert.ok(!resources.includes('secret.example.yaml'), 'the example is never applied');
  });
});

// ------------------------------------------------------------------ container image

describe('container image (deploy/Dockerfile)', () => {
  const dockerfileText = readText('deploy/Dockerfile');
  const ignoreText = readText('deploy/Dockerfile.dockerignore');
  const { stages } = parseDockerfile(dockerfileText);

  it('is multi-stage, on pinned Node 20 bases, and runs as a non-root user', () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ['build', 'deps', 'runtime'],
    );
    for (const s of stages) assert.match(s.from, /^node:20\.\d+\.\d+-[a-z]+/, `${s.name} base`);
    const runtime = stages.at(-1)!;
    const user = runtime.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.ok(user && user !== 'root' && user !== '0', 'USER is not root');
    const runs = stages.flatMap((s) =>
      s.instructions.filter((i) => i.op === 'RUN').map((i) => `${s.name}: ${i.args}`),
    );
    assert.ok(runs.some((r) => r.startsWith('build:') && r.includes('npm run build')));
    assert.ok(runs.some((r) => r.startsWith('deps:') && r.includes('npm install --omit=dev')));
    assert.ok(
      !runtime.instructions.some((i) => i.op === 'RUN'),
      'the runtime stage installs nothing',
    );
  });

  it('sends only what the image needs as the build context', () => {
    const copied = stages.flatMap((s) =>
      s.instructions
        .filter((i) => i.op === 'COPY' && !i.args.includes('--from='))
        .flatMap((i) => i.args.split(/\s+/).slice(0, -1)),
    );
    for (const src of copied) assert.ok(dockerIncluded(src, ignoreText), `${src} is ignored`);
    for (const p of [
      'node_modules/yaml/package.json',
      '.weir/stack',
      '.env',
      'dist/cli/weir.js',
      'test/integration/deploy.test.ts',
      'src/config/load.test.ts',
    ])
      assert.equal(dockerIncluded(p, ignoreText), false, `${p} should not be sent`);
  });

  it('builds and runs with the same npm steps as the Dockerfile, production dependencies only', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'weir-image-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const image = emulateDockerfile(repoPath('deploy/Dockerfile'), repo, ignoreText, work);
    const nodeModules = image.path('node_modules');
    for (const dev of ['typescript', 'tsx', 'eslint', 'chdb', 'dclint'])
      assert.equal(existsSync(join(nodeModules, dev)), false, `${dev} is in the runtime image`);
    assert.ok(existsSync(join(nodeModules, 'kafkajs')));
    assert.ok(existsSync(image.path('dist/cli/weir.js')));
    assert.equal(image.user, 'node');
    const [exe, entry, ...entryArgs] = image.entrypoint;
    assert.equal(exe, 'node');
    const weir = (args: string[], timeoutMs = 60_000) =>
      run(process.execPath, [join(image.root, entry!), ...entryArgs, ...args], {
        cwd: image.path('.'),
        env: image.env,
        timeoutMs,
      });

    const help = weir(['--help']);
    assert.equal(help.status, 0, help.output);
    assert.match(help.output, /run \[options\]/);
    const demo = weir(['validate', '--offline', '-c', image.path('examples/demo.yaml')]);
    assert.equal(demo.status, 0, demo.output);
    assert.match(demo.output, /OK \(1 pipeline: orders/);

    // The built agent runs a real pipeline against the local stack, with production deps only.
    const f = await pipelineFixture({ partitions: 2 });
    const child = spawn(
      process.execPath,
      [join(image.root, entry!), ...entryArgs, 'run', '-c', f.configPath],
      {
        cwd: image.path('.'),
        env: childEnv({ ...image.env, WEIR_LOG_LEVEL: 'warn' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitUntil(
        'the built agent to answer /healthz',
        async () => (await getText(`http://127.0.0.1:${f.port}/healthz`)).status === 200,
        60_000,
      );
      const report = await generate(f, { count: 300, rate: 0 });
      await waitUntil(
        'the rows to reach ClickHouse',
        async () => (await tableCounts(f)).rows >= report.counts.unique,
        90_000,
        500,
      );
      const metrics = await getText(`http://127.0.0.1:${f.port}/metrics`);
      assert.equal(metricValue(metrics.body, 'weir_pipeline_up', { pipeline: 'e2e' }), 1);
      assert.ok(
        metricValue(metrics.body, 'weir_sli_records_delivered_total', { pipeline: 'e2e' }) >=
          report.counts.unique,
      );
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await f.cleanup();
    }
  });
});
