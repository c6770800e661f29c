/**
 * The key tree of the config schema, read from the zod schema itself so nothing can drift: which keys a section
 * accepts (for "did you mean" on an unknown key, in strict and open sections alike) and every key there is (the
 * test that `config/facegate.yaml` documents each one).
 */
import type { z } from 'zod';
import { closest } from '../util/suggest.ts';
import { configSchema } from './schema.ts';

/** A section's keys; a leaf (a value, an array, a free-form map) is null. */
export type KeyTree = Map<string, KeyTree | null>;

interface ZodInternals {
  _zod: { def: { type: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown> } };
}

function treeOf(schema: unknown): KeyTree | null {
  let node = schema as ZodInternals;
  // Wrappers (defaults, optionals, refinements) around the object that holds the keys.
  for (let depth = 0; depth < 16; depth++) {
    const def = node._zod.def;
    if (def.type === 'object' && def.shape) {
      const tree: KeyTree = new Map();
      for (const [key, child] of Object.entries(def.shape)) tree.set(key, treeOf(child));
      return tree;
    }
    const inner = def.innerType ?? def.in;
    if (!inner) return null;
    node = inner as ZodInternals;
  }
  return null;
}

let cached: KeyTree | null = null;

export function configKeyTree(schema: z.ZodType = configSchema): KeyTree {
  if (schema !== configSchema) return treeOf(schema) ?? new Map();
  cached ??= treeOf(configSchema) ?? new Map();
  return cached;
}

/** Every leaf key as a dotted path, in schema order. */
export function allConfigKeys(tree: KeyTree = configKeyTree(), prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, child] of tree) {
    const dotted = prefix ? `${prefix}.${key}` : key;
    if (child) out.push(...allConfigKeys(child, dotted));
    else out.push(dotted);
  }
  return out;
}

/** The keys accepted at a dotted section path ('' = the top level), or null when that is not a section. */
export function keysAt(section: string, tree: KeyTree = configKeyTree()): KeyTree | null {
  let node: KeyTree | null = tree;
  for (const key of section.split('.').filter(Boolean)) {
    node = node?.get(key) ?? null;
    if (!node) return null;
  }
  return node;
}

/** `" (did you mean door.relay?)"` for an unknown key in `section`, or '' when nothing is close. */
export function didYouMean(section: string, key: string): string {
  const keys = keysAt(section);
  const match = keys ? closest(key, keys.keys()) : undefined;
  return match ? ` (did you mean ${section ? `${section}.` : ''}${match}?)` : '';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Keys of a raw config object the schema does not know, everywhere (the open `mqtt` section drops them silently),
 * each as `path: unknown key (did you mean …?)`.
 */
export function unknownKeys(raw: Record<string, unknown>, tree: KeyTree = configKeyTree(), prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const dotted = prefix ? `${prefix}.${key}` : key;
    if (!tree.has(key)) {
      out.push(`${dotted}: unknown key${didYouMean(prefix, key)}`);
      continue;
    }
    const child = tree.get(key);
    if (child && isPlainObject(value)) out.push(...unknownKeys(value, child, dotted));
  }
  return out;
}
