/** `badge`: where badge numbers come from and how they are written down. */
import { z } from 'zod';

const BADGE_SPEC = /^(stdin|mqtt|none|evdev:.+)$/;

export const badgeSection = z
  .strictObject({
    /**
     * Any of `stdin` (keyboard-wedge reader / tests), `evdev:/dev/input/eventN` (exclusive grab), `mqtt`, `none`.
     * `mqtt` is the only switch for `<base>/badge`; its reads must be signed unless `mqtt.badgeInput.requireSigned`
     * is false, and pass `format` like every other reader.
     */
    sources: z.array(z.string().regex(BADGE_SPEC, 'expected stdin, evdev:<device>, mqtt or none')).default(['stdin']),
    /** How a read is normalised; reads outside the length range are rejected as misreads. */
    format: z
      .strictObject({
        /** `digits` keeps 0-9 only; `alphanumeric` keeps A-Z/0-9, upper-cased (hex card ids). */
        charset: z.enum(['digits', 'alphanumeric']).default('digits'),
        minLength: z.number().int().min(1).max(256).default(4),
        maxLength: z.number().int().min(1).max(256).default(32),
      })
      .prefault({}),
    /** Write full badge numbers in logs and events (default: masked to the last four characters). */
    logFull: z.boolean().default(false),
  })
  .prefault({});

export type BadgeConfig = z.infer<typeof badgeSection>;
