import type { CommandModule } from 'yargs';

/** `margin-mse data <command>`. */
const command: CommandModule = {
  command: 'data <command>',
  describe: 'data stage',
  builder: (y) => y.demandCommand(1),
  handler: () => {},
};
export default command;
