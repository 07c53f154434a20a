import type { CommandModule } from 'yargs';

/** `margin-mse sweep`. */
const command: CommandModule = {
  command: 'sweep',
  describe: 'sweep',
  handler: () => {},
};
export default command;
