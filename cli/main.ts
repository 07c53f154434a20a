import { hideBin } from 'yargs/helpers';
import { cli } from './app.js';
import { exitOnFailure, installFailureHandlers } from './failure.js';

/**
 * The `margin-mse` entry point (bin/margin-mse.js runs its compiled form). A user's mistake (a bad flag, file,
 * line, key or output) prints one line and exits 1; anything else is a bug and prints a short stack.
 */
installFailureHandlers();
try {
  await cli(hideBin(process.argv)).parseAsync();
} catch (e) {
  exitOnFailure(e);
}
