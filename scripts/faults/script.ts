// What every fault script shares around its work: progress lines `[name] hh:mm:ss.mmm message` on
// stdout (the result is the last line, one JSON object) and the exit code of its verdict.
export type Log = (msg: string) => void;

export function prefixedLog(name: string): Log {
  return (msg) => console.log(`[${name}] ${new Date().toISOString().slice(11, 23)} ${msg}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `main` and exits with its code; 2 (and the reason on stderr) when it throws. */
export function runScript(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`[${name}] error: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    },
  );
}
