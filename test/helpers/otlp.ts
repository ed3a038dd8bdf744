// A minimal OTLP/HTTP trace receiver for tests: `POST /v1/traces` with a protobuf body, decoded
// with protobufjs from the OTLP proto definitions (otlp/trace.proto), flattened into spans.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { join } from 'node:path';
import protobuf from 'protobufjs';

const root = protobuf.loadSync(join(import.meta.dirname, 'otlp', 'trace.proto'));
const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
const ExportTraceServiceResponse = root.lookupType(
  'opentelemetry.proto.ExportTraceServiceResponse',
);

export type AttrValue = string | number | boolean | AttrValue[] | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttrValue>;
  events: { name: string; attributes: Record<string, AttrValue> }[];
  links: { traceId: string; spanId: string }[];
  status: { code: string; message: string };
  resource: Record<string, AttrValue>;
  scope: string;
}

interface DecodedKeyValue {
  key: string;
  value?: Record<string, unknown>;
}

function anyValue(v: Record<string, unknown> | undefined): AttrValue {
  if (!v) return null;
  if ('stringValue' in v) return v.stringValue as string;
  if ('boolValue' in v) return v.boolValue as boolean;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue as number;
  if ('arrayValue' in v)
    return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(anyValue);
  return null;
}

const attrs = (kvs: DecodedKeyValue[] | undefined): Record<string, AttrValue> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, anyValue(kv.value)]));

const hex = (b: unknown): string =>
  Buffer.from((b as Uint8Array | undefined) ?? []).toString('hex');
const nanosToMs = (n: unknown): number =>
  Number(BigInt(typeof n === 'string' || typeof n === 'number' ? n : 0) / 1000n) / 1000;

/** Decodes an ExportTraceServiceRequest (protobuf) into flat spans. */
export function decodeTraces(body: Uint8Array): ReceivedSpan[] {
  const msg = ExportTraceServiceRequest.decode(body);
  const req = ExportTraceServiceRequest.toObject(msg, {
    longs: String,
    enums: String,
    bytes: Buffer,
    oneofs: false,
  }) as {
    resourceSpans?: {
      resource?: { attributes?: DecodedKeyValue[] };
      scopeSpans?: { scope?: { name?: string }; spans?: Record<string, unknown>[] }[];
    }[];
  };
  const out: ReceivedSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? []) {
        const parent = hex(s.parentSpanId);
        const status = (s.status ?? {}) as { code?: string; message?: string };
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: parent === '' ? undefined : parent,
          name: s.name as string,
          kind: typeof s.kind === 'string' ? s.kind : 'SPAN_KIND_UNSPECIFIED',
          startMs: nanosToMs(s.startTimeUnixNano),
          endMs: nanosToMs(s.endTimeUnixNano),
          attributes: attrs(s.attributes as DecodedKeyValue[]),
          events: ((s.events ?? []) as { name: string; attributes?: DecodedKeyValue[] }[]).map(
            (e) => ({ name: e.name, attributes: attrs(e.attributes) }),
          ),
          links: ((s.links ?? []) as { traceId: unknown; spanId: unknown }[]).map((l) => ({
            traceId: hex(l.traceId),
            spanId: hex(l.spanId),
          })),
          status: { code: status.code ?? 'STATUS_CODE_UNSET', message: status.message ?? '' },
          resource,
          scope: ss.scope?.name ?? '',
        });
      }
  }
  return out;
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Content types of the requests received (the exporter must send protobuf). */
  readonly contentTypes: string[];
  /** Requests that were not POST /v1/traces. */
  readonly strayRequests: string[];
  /** The headers of every export request (e.g. an API key from OTEL_EXPORTER_OTLP_HEADERS). */
  readonly requestHeaders: IncomingHttpHeaders[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const strayRequests: string[] = [];
  const requestHeaders: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        strayRequests.push(`${req.method} ${req.url}`);
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(String(req.headers['content-type']));
      requestHeaders.push(req.headers);
      try {
        spans.push(...decodeTraces(body));
      } catch (err) {
        res.writeHead(400).end(String(err));
        return;
      }
      const reply = ExportTraceServiceResponse.encode(
        ExportTraceServiceResponse.create({}),
      ).finish();
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(reply));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    strayRequests,
    requestHeaders,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
