// Entry point of the `weir` executable.
import { fail, main } from './main.ts';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(fail(err)),
);
