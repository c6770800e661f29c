/** `facegate models list | import <kind> <dir> | fetch <kind> [name]`. */
import type { Command } from 'commander';
import type { ModelKind } from '../../models/registry.ts';
import { FacegateError } from '../../util/errors.ts';
import { globalFlags, output } from '../context.ts';
import { cliModelsDir } from '../locations.ts';
import { loadModelKinds } from '../model-kinds.ts';

async function kindNamed(kind: string): Promise<ModelKind> {
  const modelKinds = await loadModelKinds();
  const found = modelKinds.find((k) => k.kind === kind);
  if (!found)
    throw new FacegateError(`unknown model kind "${kind}" (known: ${modelKinds.map((k) => k.kind).join(', ')})`);
  return found;
}

export function registerModelsCommands(program: Command): void {
  const models = program.command('models').description('list, import and fetch model weights');

  models
    .command('list')
    .description('show every model facegate can use and whether it is ready')
    .action(async (_opts, cmd: Command) => {
      const flags = globalFlags(cmd);
      const dir = await cliModelsDir(cmd);
      const rows = (await Promise.all((await loadModelKinds()).map((k) => k.list(dir)))).flat();
      const human = rows
        .map(
          (r) =>
            `${r.kind.padEnd(12)} ${r.name.padEnd(22)} ${r.status.padEnd(8)} ${r.location}${r.detail ? `  (${r.detail})` : ''}`,
        )
        .join('\n');
      output(flags, { modelsDir: dir, models: rows }, human || 'no models known');
    });

  models
    .command('import <kind> <source>')
    .description('convert or copy weights into the models directory, with a sha256 manifest')
    .option('--name <name>', 'name to store them under (for kinds with several models, e.g. a style)')
    .action(async (kind: string, source: string, opts: { name?: string }, cmd: Command) => {
      const flags = globalFlags(cmd);
      const k = await kindNamed(kind);
      if (!k.importFrom) throw new FacegateError(`models of kind "${kind}" cannot be imported`);
      const summary = await k.importFrom(source, await cliModelsDir(cmd), opts.name);
      output(flags, { ok: true, kind, summary }, summary);
    });

  models
    .command('fetch <kind> [name]')
    .description('download weights from their public home, checked against pinned sha256s')
    .action(async (kind: string, name: string | undefined, _opts, cmd: Command) => {
      const flags = globalFlags(cmd);
      const k = await kindNamed(kind);
      if (!k.fetch) throw new FacegateError(`models of kind "${kind}" are not downloaded (${k.description})`);
      const summary = await k.fetch(await cliModelsDir(cmd), name);
      output(flags, { ok: true, kind, summary }, summary);
    });
}
