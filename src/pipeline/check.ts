// What a check reports besides errors: what a run needs that does not exist yet. A check changes
// nothing unless asked to create (`weir validate --create`); `weir run` creates what is missing.

export interface CheckOptions {
  /** Create what is missing, as `weir run` does. Default false: only report it. */
  create?: boolean;
}

/** Something a run creates when missing. */
export interface Missing {
  /** e.g. `dead-letter topic`, `ClickHouse table`, `NATS KV bucket (dedup state)`. */
  what: string;
  name: string;
}

export interface CheckReport {
  pipeline: string;
  /** What did not exist: created now with `create`, else left for `weir run`. */
  missing: Missing[];
  created: boolean;
}

/** One line per missing thing, as `weir validate` prints them. */
export function describeMissing(report: CheckReport): string[] {
  return report.missing.map(({ what, name }) =>
    report.created
      ? `pipeline ${report.pipeline}: created the ${what} ${name}`
      : `pipeline ${report.pipeline}: the ${what} ${name} does not exist; \`weir run\` creates it, or run \`weir validate --create\``,
  );
}
