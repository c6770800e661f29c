/**
 * The import graph of src/ and bench/, and the layer rules it must follow (issue 11). Every relative import counts:
 * static `import`/`export ... from` (type-only ones too: they couple the files all the same), dynamic `import()`,
 * and worker entries written `new URL('./x.ts', import.meta.url)` or `siblingModule(import.meta.url, './x.ts')`.
 *
 * Layers, top to bottom; a file may import files of a lower layer, or files of its own top-level folder (a folder of
 * src/, or bench/). Anything else — a lower layer reaching up, or one folder importing a peer folder of the same
 * layer — is a violation.
 *
 *   node --import tsx test/helpers/import-graph.ts            # counts and every violation / cycle
 *   node --import tsx test/helpers/import-graph.ts --layers <table.json> --root <repo>   # another table or tree
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Top to bottom; each entry lists the folders (path prefixes under the repository root) of one layer. */
export const LAYERS: ReadonlyArray<{ name: string; folders: readonly string[] }> = [
  { name: 'cli', folders: ['src/cli'] },
  { name: 'bench', folders: ['bench'] },
  { name: 'daemon', folders: ['src/daemon'] },
  {
    name: 'features',
    folders: ['src/door', 'src/mqtt', 'src/display', 'src/inference', 'src/metrics', 'src/audit'],
  },
  { name: 'bus', folders: ['src/bus'] },
  { name: 'domains', folders: ['src/hardware', 'src/recognition', 'src/nst', 'src/access'] },
  { name: 'base', folders: ['src/store', 'src/config', 'src/runtime', 'src/models'] },
  { name: 'util', folders: ['src/util'] },
];

export interface LayerTable {
  layers: ReadonlyArray<{ name: string; folders: readonly string[] }>;
}

export interface Edge {
  from: string;
  to: string;
  kind: 'static' | 'type' | 'dynamic' | 'worker';
}

const SOURCE_EXT = /\.(ts|mts|mjs|js)$/;
const WORKER_URL = /new URL\(\s*'(\.{1,2}\/[^']+)'\s*,\s*import\.meta\.url\s*\)/g;
const SIBLING_MODULE = /siblingModule\(\s*import\.meta\.url\s*,\s*'(\.{1,2}\/[^']+)'\s*\)/g;

function walk(dir: string, root: string, out: string[]): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, root, out);
    else if (SOURCE_EXT.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path.relative(root, full));
  }
}

/** Every import edge between files under `roots` (repository-relative, forward slashes). */
export function importEdges(repo: string, roots: readonly string[] = ['src', 'bench']): Edge[] {
  const files: string[] = [];
  for (const r of roots) walk(path.join(repo, r), repo, files);
  const known = new Set(files.map((f) => f.split(path.sep).join('/')));
  const edges: Edge[] = [];
  for (const file of files) {
    const rel = file.split(path.sep).join('/');
    const text = readFileSync(path.join(repo, file), 'utf8');
    const add = (spec: string, kind: Edge['kind']) => {
      if (!spec.startsWith('.')) return;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
      // A worker URL may name the compiled sibling; the source file is what the graph knows.
      const candidates = [target, target.replace(/\.js$/, '.ts')];
      const hit = candidates.find((c) => known.has(c));
      if (hit) edges.push({ from: rel, to: hit, kind });
    };
    const info = ts.preProcessFile(text, true, true);
    for (const imported of info.importedFiles) {
      const before = text.slice(Math.max(0, imported.pos - 200), imported.pos);
      const dynamic = /import\(\s*['"]?$/.test(before);
      const typeOnly = /(?:import|export)\s+type\s[^;]*from\s*['"]?$/.test(before);
      add(imported.fileName, dynamic ? 'dynamic' : typeOnly ? 'type' : 'static');
    }
    for (const re of [WORKER_URL, SIBLING_MODULE]) {
      for (const m of text.matchAll(re)) if (m[1]) add(m[1], 'worker');
    }
  }
  return edges;
}

/**
 * The layer index (0 = top) and folder of a file, or null when no layer lists it. An entry `prefix@group` puts the
 * prefix in the named folder group (for measuring a tree whose files are not yet in their folders).
 */
export function placeOf(file: string, table: LayerTable): { layer: number; folder: string } | null {
  let best: { layer: number; folder: string; prefix: string } | null = null;
  for (const [index, layer] of table.layers.entries()) {
    for (const entry of layer.folders) {
      const [prefix = entry, group = prefix] = entry.split('@');
      const matches = file === prefix || file.startsWith(`${prefix}/`);
      if (matches && (!best || prefix.length > best.prefix.length)) best = { layer: index, folder: group, prefix };
    }
  }
  return best === null ? null : { layer: best.layer, folder: best.folder };
}

export interface Violation extends Edge {
  why: 'upward' | 'sideways';
}

/** Imports that go up a layer, or sideways into another folder of the same layer. */
export function layerViolations(edges: readonly Edge[], table: LayerTable): Violation[] {
  const out: Violation[] = [];
  for (const edge of edges) {
    const from = placeOf(edge.from, table);
    const to = placeOf(edge.to, table);
    if (!from || !to || from.folder === to.folder) continue;
    if (to.layer < from.layer) out.push({ ...edge, why: 'upward' });
    else if (to.layer === from.layer) out.push({ ...edge, why: 'sideways' });
  }
  return out;
}

/** Files outside every layer (the table must place each one). */
export function unplaced(edges: readonly Edge[], table: LayerTable, repo: string): string[] {
  const files = new Set<string>();
  for (const r of ['src', 'bench']) {
    const list: string[] = [];
    walk(path.join(repo, r), repo, list);
    for (const f of list) files.add(f.split(path.sep).join('/'));
  }
  for (const e of edges) files.add(e.from);
  return [...files].filter((f) => placeOf(f, table) === null).sort();
}

/** Strongly connected components with more than one file (Tarjan): each one is an import cycle. */
export function importCycles(edges: readonly Edge[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (!graph.has(from)) graph.set(from, []);
    if (!graph.has(to)) graph.set(to, []);
    graph.get(from)?.push(to);
  }
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, indexOf.get(w) ?? 0));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = component.length === 1 && (graph.get(v) ?? []).includes(v);
      if (component.length > 1 || selfLoop) cycles.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indexOf.has(v)) visit(v);
  return cycles;
}

function main(argv: string[]): void {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const repo = path.resolve(arg('--root') ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));
  const layersFile = arg('--layers');
  const table: LayerTable = layersFile
    ? (JSON.parse(readFileSync(layersFile, 'utf8')) as LayerTable)
    : { layers: LAYERS };
  const edges = importEdges(repo);
  const cycles = importCycles(edges);
  const violations = layerViolations(edges, table);
  const upward = violations.filter((v) => v.why === 'upward');
  for (const c of cycles) process.stdout.write(`cycle (${c.length} files): ${c.join(' ')}\n`);
  for (const v of violations) process.stdout.write(`${v.why} (${v.kind}): ${v.from} -> ${v.to}\n`);
  for (const f of unplaced(edges, table, repo)) process.stdout.write(`not in any layer: ${f}\n`);
  const pairs = (list: readonly Edge[]) => new Set(list.map((e) => `${e.from} ${e.to}`)).size;
  const sideways = violations.filter((v) => v.why === 'sideways');
  process.stdout.write(
    `${edges.length} imports; ${cycles.length} cycles (${cycles.reduce((n, c) => n + c.length, 0)} files); ` +
      `${upward.length} upward imports (${pairs(upward)} file pairs); ` +
      `${sideways.length} sideways imports (${pairs(sideways)} file pairs)\n`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv);
