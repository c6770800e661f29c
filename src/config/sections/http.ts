/**
 * `http`: the kiosk display page, `/healthz` and `/metrics` (src/display). The server listens on loopback by
 * default: the page is for the kiosk's own screen, and nothing on it is meant for the network.
 */
import { z } from 'zod';
import { DEFAULT_GATYS, GATYS_DEFAULT_SIZE } from '../gatys-defaults.ts';

const STYLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const portraitsSection = z
  .strictObject({
    /** Render welcome portraits at all (only ever of identities with `portraitConsent: true`). */
    enabled: z.boolean().default(true),
    /** Nobody in front of the camera for this long → the next portrait job may start. */
    idleSeconds: z.number().int().min(1).max(86_400).default(60),
    /** Fast styles to rotate through; empty = the styles judged good (see src/nst/fast/style-kind.ts). */
    styles: z.array(z.string().regex(STYLE_NAME, 'a style name: letters, digits, - and _')).default([]),
    /** `fast` (feed-forward, ~1-2 s) or `gatys` (the optimisation, minutes; progress shown on the page). */
    method: z.enum(['fast', 'gatys']).default('fast'),
    /** Gatys only: the style painting and the VGG-19 .mat file (null = `<models dir>/vgg19/...`). */
    gatysStyleImage: z.string().min(1).nullable().default(null),
    /** Gatys: the exercise's training run unless set (200 iterations, alpha 10, beta 80, Adam learning rate 2.0). */
    gatysIterations: z.number().int().min(1).max(2000).default(DEFAULT_GATYS.iterations),
    gatysAlpha: z.number().min(0).max(1e6).default(DEFAULT_GATYS.alpha),
    gatysBeta: z.number().min(0).max(1e6).default(DEFAULT_GATYS.beta),
    gatysLearningRate: z.number().positive().max(1000).default(DEFAULT_GATYS.learningRate),
    /**
     * Gatys output size (default the exercise's 400x300). The square face crop is scaled to cover it and
     * centre-cropped; the card shows the portrait's centred square, so 300x300 shows the same part from a quarter
     * fewer pixels.
     */
    gatysSize: z
      .strictObject({
        width: z.number().int().min(64).max(1024).default(GATYS_DEFAULT_SIZE.width),
        height: z.number().int().min(64).max(1024).default(GATYS_DEFAULT_SIZE.height),
      })
      .prefault({}),
    /** Fast styles: side of the square face crop fed to the style network, pixels. */
    renderSize: z.number().int().min(64).max(1024).default(320),
    /** Slideshow cache bounds: the oldest portraits go first. */
    maxCount: z.number().int().min(1).max(1000).default(30),
    maxAgeDays: z.number().min(0.01).max(3650).default(30),
    /** Seconds each portrait stays on the idle screen. */
    slideSeconds: z.number().int().min(2).max(600).default(8),
  })
  .prefault({});

export const httpSection = z
  .strictObject({
    /** Serve the page, /healthz and /metrics at all. */
    enabled: z.boolean().default(true),
    /** TCP port of the page, /events, /healthz and /metrics (`facegate run --http-port`); 0 = any free port. */
    port: z.number().int().min(0).max(65_535).default(8080),
    /** Address to listen on. Keep 127.0.0.1 unless a scraper on another host needs /metrics. */
    bind: z.string().min(1).default('127.0.0.1'),
    /** Shown on the idle screen. */
    siteName: z.string().max(80).default('Welcome'),
    /** Live camera picture with the face box on the page. Off by default: it shows whoever stands there. */
    preview: z.boolean().default(false),
    portraits: portraitsSection,
  })
  .prefault({});

export type HttpConfig = z.infer<typeof httpSection>;
export type PortraitsConfig = z.infer<typeof portraitsSection>;
