// Quoting for the few SQL statements the sink builds itself. 18.16 has no query parameters
// ({name:Type}), so names and literals are escaped here.

/** A backquoted identifier: `name`. */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** A single-quoted string literal. */
export function quoteString(value: string): string {
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** `db`.`table` */
export const qualifiedName = (database: string, table: string): string =>
  `${quoteIdent(database)}.${quoteIdent(table)}`;
