import type { CommandModule } from 'yargs';

/** `margin-mse doctor [--json]`: which engine backends work here, and why not the others. */
const command: CommandModule<object, { json: boolean }> = {
  command: 'doctor',
  describe: 'which engine backends work here, and why not the others',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }),
  handler: async (argv) => {
    const { formatDoctor, runDoctor } = await import('../models/engine/doctor.js');
    const report = await runDoctor();
    process.stdout.write(argv.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
    if (!report.backends.some((b) => b.available)) process.exitCode = 1;
  },
};
export default command as CommandModule;
