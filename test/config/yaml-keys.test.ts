/**
 * `config/facegate.yaml` documents every key of every section (set to its default, or commented out where there
 * is no default), read from the schema itself: a key added to a section without a line here turns this red.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { allConfigKeys } from '../../src/config/keys.ts';
import { repoRoot } from '../helpers/shared.ts';

/** Every dotted key the file declares, set (`key:`) or commented out (`# key:`), by indentation. */
function declaredKeys(yaml: string): Set<string> {
  const out = new Set<string>();
  const stack: Array<{ indent: number; key: string }> = [];
  for (const line of yaml.split('\n')) {
    const m = /^( *)(?:#( +))?([A-Za-z][A-Za-z0-9_]*):(.*)$/.exec(line);
    if (!m) continue;
    const indent = (m[1] as string).length + (m[2] ? (m[2] as string).length - 1 : 0);
    while (stack.length > 0 && (stack.at(-1) as { indent: number }).indent >= indent) stack.pop();
    stack.push({ indent, key: m[3] as string });
    const dotted = stack.map((s) => s.key).join('.');
    out.add(dotted);
    const flow = /^\s*\{(.*)\}/.exec(m[4] as string);
    if (flow) for (const k of (flow[1] as string).matchAll(/([A-Za-z]\w*):/g)) out.add(`${dotted}.${k[1]}`);
  }
  return out;
}

test('every schema key appears in config/facegate.yaml', async () => {
  const declared = declaredKeys(await readFile(path.join(repoRoot, 'config', 'facegate.yaml'), 'utf8'));
  const missing = allConfigKeys().filter((k) => !declared.has(k));
  assert.deepEqual(missing, [], `undocumented keys: ${missing.join(', ')}`);
});

test('the key finder sees set, commented and flow-mapped keys, and nothing else', () => {
  const keys = declaredKeys('a:\n  b: 1\n  # c: x\n  d: { e: 1 }\n  # f:\n  #   g: 2\nh: 3\n');
  assert.deepEqual([...keys].sort(), ['a', 'a.b', 'a.c', 'a.d', 'a.d.e', 'a.f', 'a.f.g', 'h']);
});
