// Dimension rows from an HTTP service. The protocol (documented in the README, Lookups):
//   POST <url>  Content-Type: application/json  {"keys": ["k1", "k2", ...]}
//   200 application/json  {"k1": {"<column>": <value>, ...}, "k2": null, ...}
// A key left out of the answer, or null, has no row (a miss). Keys are sent as JSON strings or
// numbers, as the record holds them; the answer's keys are text. A preload sends {"all": true}
// and takes the same answer for every key there is. Anything but a 200 with a JSON object is an
// error (retried, the pipeline paused); 401 and 403 at start are refused credentials.
import { ConfigError, ConnectionError } from '../core/errors.ts';
import { redactUrl, splitCredentials } from '../core/redact.ts';
import type { DimRow, DimensionSource, KeyValue } from './source.ts';

export interface HttpLookupConfig {
  url: string;
  headers: Record<string, string>;
}

export interface HttpLookupOptions {
  keyColumn: string;
  timeoutMs: number;
  section: string;
}

export class HttpSource implements DimensionSource {
  readonly kind = 'the lookup HTTP service';
  readonly where: string;

  private readonly url: string;
  private readonly headers: Record<string, string>;

  constructor(
    cfg: HttpLookupConfig,
    private readonly o: HttpLookupOptions,
  ) {
    this.where = `the HTTP service at ${redactUrl(cfg.url)}`;
    // fetch refuses URLs with credentials: user:password@ in the URL is sent as Basic auth.
    const c = splitCredentials(cfg.url);
    this.url = c.url;
    const basic: Record<string, string> =
      c.username !== undefined || c.password !== undefined
        ? {
            authorization: `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`,
          }
        : {};
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...basic,
      ...cfg.headers,
    };
  }

  /** One probe with no keys: the service must answer it with an (empty) JSON object. */
  async connect(): Promise<undefined> {
    await this.post({ keys: [] }, undefined, true);
    return undefined;
  }

  async fetch(keys: readonly KeyValue[], signal?: AbortSignal): Promise<DimRow[]> {
    return this.rows(await this.post({ keys }, signal, false));
  }

  async fetchAll(signal?: AbortSignal): Promise<DimRow[]> {
    return this.rows(await this.post({ all: true }, signal, false));
  }

  async close(): Promise<void> {}

  private rows(answer: Record<string, unknown>): DimRow[] {
    const out: DimRow[] = [];
    for (const [key, row] of Object.entries(answer)) {
      if (row === null) continue;
      if (typeof row !== 'object' || Array.isArray(row))
        throw new ConnectionError(
          `${this.where} answered key "${key}" with a ${Array.isArray(row) ? 'list' : typeof row}, not a row object or null`,
          {
            hint: 'answer {"<key>": {"<column>": <value>, ...} | null, ...}',
          },
        );
      out.push({ ...(row as DimRow), [this.o.keyColumn]: key });
    }
    return out;
  }

  private async post(
    body: unknown,
    signal: AbortSignal | undefined,
    atStart: boolean,
  ): Promise<Record<string, unknown>> {
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = timeout.aborted
        ? `no answer within ${this.o.timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new ConnectionError(`cannot reach ${this.where}: ${why}`, {
        cause: err,
        peer: 'the lookup HTTP service',
        retriable: true,
        hint: 'check that the service runs and the URL is right; Weir retries',
      });
    }
    const text = await res.text().catch(() => '');
    if (res.status === 401 || res.status === 403) {
      const e = new ConnectionError(`${this.where} refused the request: HTTP ${res.status}`, {
        peer: 'the lookup HTTP service',
        hint: `check the credentials in ${this.o.section}.from.http.headers`,
      });
      throw Object.assign(e, { lookupClass: 'auth' as const });
    }
    if (res.status !== 200) {
      const E = atStart && res.status >= 400 && res.status < 500 ? ConfigError : ConnectionError;
      throw new E(`${this.where} answered HTTP ${res.status}: ${text.slice(0, 200)}`, {
        retriable: E === ConnectionError,
        ...(E === ConnectionError && { peer: 'the lookup HTTP service' as const }),
        hint: 'the service must answer POST {"keys": [...]} with 200 and a JSON object (see the README, Lookups)',
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new (atStart ? ConfigError : ConnectionError)(
        `${this.where} answered something other than a JSON object: ${text.slice(0, 200)}`,
        {
          hint: 'answer {"<key>": {"<column>": <value>, ...} | null, ...} (see the README, Lookups)',
        },
      );
    return parsed as Record<string, unknown>;
  }
}
