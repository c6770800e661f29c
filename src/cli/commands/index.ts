/** Every command group of the CLI, one file each; add new groups to this list. */
import type { Command } from 'commander';
import { registerAdminCommands } from './admin.ts';
import { registerBenchCommands } from './bench.ts';
import { registerDbCommands } from './db.ts';
import { registerModelsCommands } from './models.ts';
import { registerPadCommand } from './pad.ts';
import { registerRecognitionCommands } from './recognition.ts';
import { registerRunCommand } from './run.ts';
import { registerStylizeCommands } from './stylize.ts';

export type RegisterCommands = (program: Command) => void;

export const commandGroups: RegisterCommands[] = [
  registerRecognitionCommands,
  registerDbCommands,
  registerModelsCommands,
  registerStylizeCommands,
  registerBenchCommands,
  registerRunCommand,
  registerAdminCommands,
  registerPadCommand,
];
