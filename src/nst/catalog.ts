/**
 * What the daemon's main thread needs to know about styles and weights without loading tfjs: the style catalogue
 * and where the VGG-19 file lives. The kinds that load weights (`fast-style-kind.ts`, `vgg-kind.ts`) re-export it.
 */
import path from 'node:path';

/**
 * Verdicts from looking at every style's output on several photos. matilde_perez produces the same blue/white
 * stripe picture whatever the input (outputs for different photos and for rescaled/recentred inputs differ only
 * slightly; its weights load with the same layout and sane statistics as the others), so the checkpoint itself
 * has collapsed during training: it is kept fetchable but out of the defaults.
 */
export const FAST_STYLE_NOTES: Record<string, { quality: 'good' | 'line-art' | 'broken'; note: string }> = {
  la_muse: { quality: 'good', note: 'Picasso-like, warm colours, bold outlines' },
  mathura: { quality: 'line-art', note: 'black-and-white line art; content recognisable, colours lost' },
  matilde_perez: { quality: 'broken', note: 'ignores the content: same blue/white stripes for every input' },
  matta: { quality: 'good', note: 'dark green/red, fine texture' },
  rain_princess: { quality: 'good', note: 'Afremov-like vivid brush strokes' },
  scream: { quality: 'good', note: 'Munch palette, orange/blue swirls' },
  udnie: { quality: 'good', note: 'Picabia-like smooth shards, muted blues' },
  wave: { quality: 'good', note: 'Hokusai blues and foam patterns' },
  wreck: { quality: 'good', note: 'Turner-like muted greens, cross-hatched texture' },
};

export const KNOWN_FAST_STYLES = Object.keys(FAST_STYLE_NOTES);
/** What the kiosk rotates through when no style is configured. */
export const DEFAULT_FAST_STYLES = KNOWN_FAST_STYLES.filter((s) => FAST_STYLE_NOTES[s]?.quality === 'good');

export const VGG19_FILE = 'imagenet-vgg-verydeep-19.mat';

export const VGG19_URL = `https://www.vlfeat.org/matconvnet/models/${VGG19_FILE}`;

/**
 * How to get the Gatys weights, said the same way wherever they are missing (Gatys, `models fetch vgg19`): no
 * sha256 is pinned, so the one path that always works is download, then `models import` (which checks the file).
 */
export function vgg19HowToGet(): string {
  return (
    `download ${VGG19_URL} (~510 MB, MatConvNet), then run "facegate models import vgg19 <downloaded file>" ` +
    `(checks it and records its sha256), or pass --vgg <file>; "facegate models fetch vgg19" downloads it only with ` +
    `FACEGATE_VGG19_SHA256 set to a hash you trust`
  );
}

/** Where a fast style's checkpoint directory lives. */
export function fastStyleDir(modelsDir: string, name: string): string {
  return path.join(modelsDir, 'fast-style', name);
}

export function vgg19Path(modelsDir: string): string {
  return path.join(modelsDir, 'vgg19', VGG19_FILE);
}
