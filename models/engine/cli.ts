import type { CommandModule } from 'yargs';

/** `margin-mse doctor`. */
const command: CommandModule = {
  command: 'doctor',
  describe: 'which engine backends work here, and why not the others',
  handler: () => {},
};
export default command;
