/**
 * Camera-like frames from the shared face crops: a 640x480 grey frame with the face scaled up in the middle, the
 * way a person stands in front of a kiosk camera, so the detector finds it without any padding trick.
 */
import sharp from 'sharp';
import type { Frame } from '../src/hardware/camera/frame.ts';
import type { RgbImage } from '../src/runtime/image.ts';

export const FRAME_WIDTH = 640;
export const FRAME_HEIGHT = 480;

/** PNG bytes of the composed frame (for `dir:` camera folders and ffmpeg clips). */
export async function composeFacePng(faceFile: string, faceSide = 240): Promise<Buffer> {
  const face = await sharp(faceFile).resize(faceSide, faceSide).removeAlpha().png().toBuffer();
  return sharp({
    create: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3, background: { r: 128, g: 128, b: 128 } },
  })
    .composite([
      { input: face, left: Math.round((FRAME_WIDTH - faceSide) / 2), top: Math.round((FRAME_HEIGHT - faceSide) / 2) },
    ])
    .png()
    .toBuffer();
}

export async function composeFaceImage(faceFile: string, faceSide = 240): Promise<RgbImage> {
  const { data, info } = await sharp(await composeFacePng(faceFile, faceSide))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

export function blankImage(): RgbImage {
  return { data: new Uint8Array(FRAME_WIDTH * FRAME_HEIGHT * 3).fill(128), width: FRAME_WIDTH, height: FRAME_HEIGHT };
}

/** A fresh frame owning its own pixel buffer (the analyser transfers it). */
export function frameOf(image: RgbImage, seq: number, capturedAt = Date.now()): Frame {
  return { image: { ...image, data: image.data.slice() }, capturedAt, seq };
}
