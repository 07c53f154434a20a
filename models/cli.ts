import type { CommandModule } from 'yargs';

/** `margin-mse model <command>`. */
const command: CommandModule = {
  command: 'model <command>',
  describe: 'student and teacher networks',
  builder: (y) => y.demandCommand(1),
  handler: () => {},
};
export default command;
