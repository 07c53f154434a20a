import { fsErrorLine, UserError } from '../common/errors.js';

/** A command line yargs refused (unknown flag, missing argument, a value not among the choices). */
export class UsageError extends UserError {
  override name = 'UsageError';
}

/** At most this many characters per line of a bug's report: minified sources must not fill the terminal. */
const MAX_LINE = 300;
const MAX_FRAMES = 12;

/**
 * What the user reads when a command fails: one line for their mistakes (a bad flag, file, line, key; a file
 * that cannot be read or written), a short stack for a bug (its frames, each line cut, never a minified
 * source line). `bug` says which it is.
 */
export function describeFailure(err: unknown): { text: string; bug: boolean } {
  if (err instanceof UserError) return { text: `margin-mse: ${err.message}`, bug: false };
  const fs = fsErrorLine(err);
  if (fs !== undefined) return { text: `margin-mse: ${fs}`, bug: false };
  const message = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  const frames = err instanceof Error && err.stack ? err.stack.split('\n').filter((l) => /^\s+at\s/.test(l)) : [];
  const lines = [`margin-mse: internal error (a bug; please report it with the command): ${message.split('\n')[0]}`, ...frames.slice(0, MAX_FRAMES)];
  return { text: lines.map((l) => (l.length > MAX_LINE ? `${l.slice(0, MAX_LINE)}…` : l)).join('\n'), bug: true };
}

/** yargs' messages in the project's form: `--flag: expected …, got …` for a value outside the choices. */
export function usageMessage(msg: string): string {
  const choices = [...msg.matchAll(/Argument: ([\w-]+), Given: (.*?), Choices: (.*)$/gm)];
  if (choices.length > 0) {
    return choices.map(([, name, given, list]) => `${name.length === 1 ? '-' : '--'}${name}: expected one of ${list.replaceAll('"', '')}, got ${given}`).join('; ');
  }
  return msg.replace(/\s*\n\s*/g, ' ');
}

/** Prints the failure and ends the process: exit 1 (the only exit code for failures, user's or bug's). */
export function exitOnFailure(err: unknown): never {
  process.stderr.write(`${describeFailure(err).text}\n`);
  process.exit(1);
}

/**
 * Errors outside the command's promise (a stream's error event, a rejected promise nobody awaits) end the
 * process the same way. Installed first, so these listeners run before any a library adds (emscripten's
 * rethrow turns every error into exit 7 and a dump of its minified source).
 */
export function installFailureHandlers(): void {
  process.on('uncaughtException', (e) => exitOnFailure(e));
  process.on('unhandledRejection', (e) => exitOnFailure(e));
}
