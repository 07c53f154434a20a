import type { CommandModule } from 'yargs';

/** `margin-mse eval <command>`. */
const command: CommandModule = {
  command: 'eval <command>',
  describe: 'eval stage',
  builder: (y) => y.demandCommand(1),
  handler: () => {},
};
export default command;
