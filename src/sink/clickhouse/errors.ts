// The one place that reads ClickHouse error codes and network errors and decides what they mean:
//   retryable - the server or the network is (probably) temporarily unable: back off, retry in order;
//   record    - the data of the batch was rejected: some row is bad (the sink bisects to find it);
//   fatal     - configuration or permissions: retrying cannot help, stop and tell the user the fix.
// @clickhouse/client raises ClickHouseError (numeric `code` as a string) when it recognises the
// server's message, and a plain Error with the raw body otherwise - which is what 18.16's
// "Code: 193, e.displayText() = DB::Exception: ..." text always gives. Both are handled here.
import { WeirError } from '../../core/errors.ts';
import { redact } from '../../core/redact.ts';
import { isTlsFailure } from '../../tls/tls.ts';

export type ErrorKind = 'retryable' | 'record' | 'fatal';

export interface ClassifiedError {
  kind: ErrorKind;
  /** The ClickHouse error code, when the error came from the server. */
  code?: number;
  /** One line, without credentials. */
  message: string;
  /**
   * The table may have changed under Weir (a column dropped, retyped): the sink re-reads the table
   * before it bisects or gives up. 18.16 answers a dropped column with 117 (unknown field) and a
   * retyped one with a parse error (6, 27, 38, 41, 72 …), so every rejected-data code qualifies.
   */
  tableMayHaveChanged?: boolean;
  /** A server code none of the lists above names: retried, but only a bounded number of times before the pipeline pauses and says so. */
  unknown?: boolean;
}

const retryableCodes = new Set([
  159, // TIMEOUT_EXCEEDED
  160, // TOO_SLOW
  173, // CANNOT_ALLOCATE_MEMORY
  201, // QUOTA_EXCEEDED
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  225, // NO_ZOOKEEPER
  236, // ABORTED
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY (replica lost its ZooKeeper session)
  243, // NOT_ENOUGH_SPACE
  244, // UNEXPECTED_ZOOKEEPER_ERROR
  252, // TOO_MANY_PARTS
  279, // ALL_CONNECTION_TRIES_FAILED
  285, // TOO_FEW_LIVE_REPLICAS
  286, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
  319, // UNKNOWN_STATUS_OF_INSERT
  394, // QUERY_WAS_CANCELLED
  425, // SYSTEM_ERROR
  439, // CANNOT_SCHEDULE_TASK
  999, // KEEPER_EXCEPTION
  1000, // POCO_EXCEPTION (mostly network)
]);

const recordCodes = new Set([
  3, // UNEXPECTED_END_OF_FILE
  6, // CANNOT_PARSE_TEXT
  7, // INCORRECT_NUMBER_OF_COLUMNS
  19, // SIZE_OF_FIXED_STRING_DOESNT_MATCH
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  33, // CANNOT_READ_ALL_DATA
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND (decimal digits)
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  128, // TOO_LARGE_ARRAY_SIZE
  130, // CANNOT_READ_ARRAY_FROM_TEXT
  131, // TOO_LARGE_STRING_SIZE
  190, // SIZES_OF_ARRAYS_DOESNT_MATCH (Nested)
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  376, // CANNOT_PARSE_UUID
  395, // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO (a CHECK-like default expression on a row)
  467, // CANNOT_PARSE_BOOL
  469, // VIOLATED_CONSTRAINT
  675, // CANNOT_PARSE_IPV4
  676, // CANNOT_PARSE_IPV6
  691, // UNKNOWN_ELEMENT_OF_ENUM
]);

const fatalCodes = new Set([
  8, // THERE_IS_NO_COLUMN
  10, // NOT_FOUND_COLUMN_IN_BLOCK
  16, // NO_SUCH_COLUMN_IN_TABLE
  36, // BAD_ARGUMENTS
  47, // UNKNOWN_IDENTIFIER
  48, // NOT_IMPLEMENTED
  56, // UNKNOWN_STORAGE
  57, // TABLE_ALREADY_EXISTS
  60, // UNKNOWN_TABLE
  62, // SYNTAX_ERROR
  73, // UNKNOWN_FORMAT
  81, // UNKNOWN_DATABASE
  115, // UNKNOWN_SETTING
  164, // READONLY
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  194, // REQUIRED_PASSWORD
  195, // IP_ADDRESS_NOT_ALLOWED
  291, // DATABASE_ACCESS_DENIED
  452, // SETTING_CONSTRAINT_VIOLATION
  497, // ACCESS_DENIED
  516, // AUTHENTICATION_FAILED
]);

// Codes that name a column or block the table no longer has (fatal on their own).
const columnCodes = new Set([8, 10, 16]);

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const serverCode = /\bCode:\s*(\d+)/;

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  statusCode?: unknown;
  status?: unknown;
}

const asErrorLike = (e: unknown): ErrorLike | undefined =>
  typeof e === 'object' && e !== null ? e : undefined;

/** The ClickHouse error code of an error (or of its causes), if it carries one. */
export function clickHouseCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    const o = asErrorLike(e);
    if (typeof o?.code === 'string' && /^\d+$/.test(o.code)) return Number(o.code);
    if (typeof o?.code === 'number' && Number.isInteger(o.code)) return o.code;
    const text = typeof e === 'string' ? e : typeof o?.message === 'string' ? o.message : '';
    const m = serverCode.exec(text);
    if (m?.[1]) return Number(m[1]);
    e = o?.cause;
  }
  return undefined;
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    const o = asErrorLike(e);
    if (typeof o?.code === 'string' && networkCodes.has(o.code)) return o.code;
    e = o?.cause;
  }
  return undefined;
}

function httpStatus(err: unknown): number | undefined {
  const o = asErrorLike(err);
  const s = o?.statusCode ?? o?.status;
  return typeof s === 'number' ? s : undefined;
}

/**
 * One line of the server's message: without the 18.16 `e.displayText() = ` wrapper, the version
 * and stack trace suffixes, URL credentials and the config's secrets (core/redact.ts).
 */
export function cleanMessage(err: unknown): string {
  const o = asErrorLike(err);
  let text =
    typeof err === 'string' ? err : typeof o?.message === 'string' ? o.message : String(err);
  text = text
    .replace(/\s*Stack trace[\s\S]*$/, '')
    .replace(/,?\s*e\.what\(\) = DB::Exception\s*$/s, '')
    .replace(/e\.displayText\(\) = /, '')
    .replace(/\s*\(version [^)]*\)\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  text = redact(text);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** Decides what to do with an error from a ClickHouse call. */
export function classifyClickHouseError(err: unknown): ClassifiedError {
  const message = cleanMessage(err);
  const code = clickHouseCode(err);
  if (code !== undefined) {
    if (retryableCodes.has(code)) return { kind: 'retryable', code, message };
    if (recordCodes.has(code)) return { kind: 'record', code, message, tableMayHaveChanged: true };
    if (fatalCodes.has(code))
      return { kind: 'fatal', code, message, tableMayHaveChanged: columnCodes.has(code) };
    // 18.16 reports an unknown Enum element as LOGICAL_ERROR (49); otherwise it is a server bug.
    if (code === 49)
      return { kind: /Unknown element/i.test(message) ? 'record' : 'fatal', code, message };
    // Anything else from the server: backing off and retrying is safer than stopping the
    // pipeline or dead-lettering data for a cause we cannot name.
    return { kind: 'retryable', code, message, unknown: true };
  }
  // A certificate the client or the server refuses: configuration, not an outage.
  if (isTlsFailure(err)) return { kind: 'fatal', message };
  if (networkCode(err) !== undefined) return { kind: 'retryable', message };
  const status = httpStatus(err);
  if (status === 401 || status === 403 || status === 404) return { kind: 'fatal', message };
  // A bug on our side is not fixed by retrying.
  if (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof SyntaxError ||
    err instanceof ReferenceError
  ) {
    return { kind: 'fatal', message };
  }
  // Client timeouts ("Timeout error."), "socket hang up", 5xx pages from proxies, aborted requests.
  return { kind: 'retryable', message };
}

/**
 * A failed ClickHouse call with its classification, as a Weir error: `retriable` exactly when the
 * kind is 'retryable', so the retry policy retries it and nothing else.
 */
export class ClickHouseFailure extends WeirError {
  override name = 'ClickHouseFailure';
  readonly kind: ErrorKind;
  readonly code: number | undefined;
  /** The server's message, cleaned (the error's message is prefixed with what failed). */
  readonly detail: string;
  readonly tableMayHaveChanged: boolean;
  readonly unknown: boolean;

  constructor(what: string, c: ClassifiedError, opts: { cause: unknown; hint?: string }) {
    super(`${what}: ${c.message}`, {
      cause: opts.cause,
      retriable: c.kind === 'retryable',
      hint: errorHint(c.code) ?? opts.hint,
    });
    this.kind = c.kind;
    this.code = c.code;
    this.detail = c.message;
    this.tableMayHaveChanged = c.tableMayHaveChanged ?? false;
    this.unknown = c.unknown ?? false;
  }
}

/** Classifies an error of a ClickHouse call; `what` says what failed, `hint` is the default fix. */
export function clickHouseFailure(what: string, err: unknown, hint?: string): ClickHouseFailure {
  return new ClickHouseFailure(what, classifyClickHouseError(err), { cause: err, hint });
}

const hints: Record<number, string> = {
  16: 'the table lacks a column Weir writes: add it, or map fields with sink.clickhouse.columns',
  36: 'a query argument or setting value was rejected: check sink.clickhouse.settings',
  56: 'unknown table engine: check sink.clickhouse.create_table.engine',
  60: 'create the table, or set sink.clickhouse.create_table so Weir creates it',
  62: 'a query Weir built was rejected: check table, database and column names in sink.clickhouse',
  81: 'create the database (CREATE DATABASE) or fix sink.clickhouse.database',
  115: 'this server does not know a setting: remove it from sink.clickhouse.settings (or async_insert on old servers)',
  164: 'the user is read-only: use a user that may INSERT (readonly = 0)',
  192: 'check sink.clickhouse.username (the user does not exist)',
  193: 'check sink.clickhouse.username and sink.clickhouse.password',
  194: 'the user needs a password: set sink.clickhouse.password',
  195: "the user may not connect from this host: allow it in the user's networks / HOST settings",
  202: 'the server is at its concurrent query limit: Weir retries; raise max_concurrent_queries if it persists',
  241: 'the server is out of memory: Weir retries; lower sink.clickhouse.batch.max_rows or raise memory limits',
  242: 'the replica is read-only (ZooKeeper/Keeper unavailable?): Weir retries; check the Keeper connection',
  252: 'too many parts: inserts are too small or too frequent; raise sink.clickhouse.batch.max_rows / max_delay_ms',
  291: 'grant the user access to the database',
  452: 'a setting in sink.clickhouse.settings violates a constraint of the user profile',
  497: 'grant the user INSERT on the table (and SELECT on system tables for DESCRIBE)',
  516: 'check sink.clickhouse.username and sink.clickhouse.password',
};

/**
 * With a client certificate (sink.clickhouse.tls.cert_file) the client asks for certificate
 * authentication, which servers from 21.x on refuse together with a password.
 */
export function certificateAuthHint(message: string): string | undefined {
  return /SSL certificate authentication/i.test(message)
    ? "a client certificate authenticates the user by the certificate: leave sink.clickhouse.password empty and create the user IDENTIFIED WITH ssl_certificate CN '<certificate CN>'"
    : undefined;
}

/** A short fix for an error code, when there is one. */
export function errorHint(code: number | undefined): string | undefined {
  return code === undefined ? undefined : hints[code];
}
