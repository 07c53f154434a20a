import type { CommandModule } from 'yargs';

/** `margin-mse train <command>`. */
const command: CommandModule = {
  command: 'train <command>',
  describe: 'train stage',
  builder: (y) => y.demandCommand(1),
  handler: () => {},
};
export default command;
