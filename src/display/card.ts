/**
 * Welcome-portrait pictures: the face crop the door flow hands over, and the card the slideshow shows (the
 * stylized face with the name, date and style name under it, set with an SVG overlay through sharp).
 */
import sharp from 'sharp';
import type { FaceBox } from '../recognition/pipeline.ts';
import type { RgbImage } from '../runtime/image.ts';

export const CARD_WIDTH = 600;
const CAPTION_HEIGHT = 190;

/**
 * A square crop around a face box with some margin (hair, chin), centred on the face: near the frame's edge the
 * margin shrinks rather than the face moving off-centre (the portrait's styling scales and centre-crops this
 * square, so the face stays in the middle of the picture and of the card). Only a face box that itself reaches
 * the edge gets a crop clamped to the frame. Plain pixel copying, so portrait capture can call it on the main thread
 * on a grant without waiting on anything.
 */
export function cropFace(image: RgbImage, box: FaceBox, margin = 0.4): RgbImage {
  const face = Math.max(box.width, box.height);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const room = 2 * Math.min(cx, image.width - cx, cy, image.height - cy);
  const side = Math.round(Math.max(face, Math.min(face * (1 + 2 * margin), room)));
  const size = Math.max(1, Math.min(side, image.width, image.height));
  const left = Math.round(Math.min(Math.max(0, cx - size / 2), image.width - size));
  const top = Math.round(Math.min(Math.max(0, cy - size / 2), image.height - size));
  const data = new Uint8Array(size * size * 3);
  for (let row = 0; row < size; row += 1) {
    const from = ((top + row) * image.width + left) * 3;
    data.set(image.data.subarray(from, from + size * 3), row * size * 3);
  }
  return { data, width: size, height: size };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Long names shrink rather than overflow the card. */
function nameFontSize(text: string): number {
  return Math.max(28, Math.min(56, Math.floor((CARD_WIDTH - 60) / (0.7 * Math.max(1, text.length)))));
}

export interface CardText {
  name: string;
  date: Date;
  style: string;
}

export async function composeWelcomeCard(stylized: RgbImage, text: CardText): Promise<Buffer> {
  const portrait = await sharp(Buffer.from(stylized.data.buffer, stylized.data.byteOffset, stylized.data.byteLength), {
    raw: { width: stylized.width, height: stylized.height, channels: 3 },
  })
    .resize(CARD_WIDTH, CARD_WIDTH, { fit: 'cover' })
    .png()
    .toBuffer();
  const welcome = `Welcome, ${text.name}`;
  const dateText = text.date.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
  const caption = `<svg xmlns="http://www.w3.org/2000/svg" width="${CARD_WIDTH}" height="${CAPTION_HEIGHT}">
  <rect width="100%" height="100%" fill="#10161d"/>
  <rect width="100%" height="6" fill="#ffb000"/>
  <text x="30" y="82" font-family="DejaVu Sans, sans-serif" font-weight="bold" font-size="${nameFontSize(welcome)}" fill="#ffffff">${escapeXml(welcome)}</text>
  <text x="30" y="140" font-family="DejaVu Sans, sans-serif" font-size="30" fill="#b8c2cc">${escapeXml(dateText)} · ${escapeXml(text.style)}</text>
</svg>`;
  return sharp({
    create: { width: CARD_WIDTH, height: CARD_WIDTH + CAPTION_HEIGHT, channels: 3, background: '#10161d' },
  })
    .composite([
      { input: portrait, top: 0, left: 0 },
      { input: Buffer.from(caption), top: CARD_WIDTH, left: 0 },
    ])
    .jpeg({ quality: 88 })
    .toBuffer();
}
