// The scripts' command lines: util.parseArgs (strict), whole numbers checked, and one way out for a mistake. A bad
// option is the user's input, not a failure of the script: `runCli` prints the message and the script's usage line
// and exits 2 (no stack trace); `--help` prints the usage and exits 0.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
/** What parseArgs answers for `T`, strict and without positionals. */
type Values<T extends OptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values'];

/** A mistake on the command line: the message names the option and what it needs. */
export class UsageError extends Error {}

/** Exit status of a command line that cannot run as written (the console's server uses the same). */
export const EXIT_USAGE = 2;

class HelpRequest extends Error {}

/** parseArgs with no positionals; `--help` anywhere asks for the usage. Throws UsageError on anything else unknown. */
export function parseOptions<T extends OptionsConfig>(argv: readonly string[], options: T): Values<T> {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequest();
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // node's ERR_PARSE_ARGS_* messages name the option ("Unknown option '--x'", "Option '--rate <value>' argument missing").
    throw new UsageError((error as Error).message);
  }
}

/** `text` of option --`name` as a whole number >= `min`. */
export function wholeNumber(name: string, text: string | undefined, min = 1): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(value) || value < min) throw new UsageError(`--${name} needs a whole number >= ${min} (got ${String(text)})`);
  return value;
}

/** --name N (or --name=N) for whole numbers >= 1, the defaults kept for the ones not given. */
export function wholeNumberOptions<T extends Record<string, number>>(argv: readonly string[], defaults: T): T {
  const values = parseOptions(argv, Object.fromEntries(Object.keys(defaults).map((name) => [name, { type: 'string' as const }])));
  const options: Record<string, number> = { ...defaults };
  for (const [name, text] of Object.entries(values)) options[name] = wholeNumber(name, text as string);
  return options as T;
}

/**
 * Runs a script's main: a UsageError (and --help) prints `usage`, exit 2 (0 for --help); any other failure is a
 * failure of the script (its stack, exit 1).
 */
export function runCli(usage: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof HelpRequest) {
      console.log(`usage: ${usage}`);
      process.exit(0);
    }
    if (error instanceof UsageError) {
      console.error(`${error.message}\nusage: ${usage}`);
      process.exit(EXIT_USAGE);
    }
    console.error(error);
    process.exit(1);
  });
}
