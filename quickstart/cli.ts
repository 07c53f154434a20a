import type { CommandModule } from 'yargs';

/** `margin-mse quickstart`. */
const command: CommandModule = {
  command: 'quickstart',
  describe: 'quickstart',
  handler: () => {},
};
export default command;
