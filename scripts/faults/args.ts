// Command-line options of the fault scripts: `--some-name N` sets the number `someName`,
// `--no-some-name` turns the switch `someName` off. Anything else is an error naming the usage.
export type Flags = Record<string, number | boolean>;

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function parseFlags<T extends Flags>(
  argv: readonly string[],
  defaults: T,
  usage: string,
): T {
  const o: Flags = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const off = a.startsWith('--no-') ? camel(a.slice(5)) : undefined;
    const name = camel(a.slice(2));
    if (off !== undefined && typeof defaults[off] === 'boolean') o[off] = false;
    else if (a.startsWith('--') && typeof defaults[name] === 'number') {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a non-negative number`);
      o[name] = v;
    } else throw new Error(`unknown option ${a} (usage: ${usage})`);
  }
  return o as T;
}
