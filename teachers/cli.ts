import type { CommandModule } from 'yargs';

/** `margin-mse teachers <command>`. */
const command: CommandModule = {
  command: 'teachers <command>',
  describe: 'teachers stage',
  builder: (y) => y.demandCommand(1),
  handler: () => {},
};
export default command;
