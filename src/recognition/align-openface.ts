/**
 * Face alignment for `facenet-nn4small2` the way OpenFace aligns faces for nn4.small2, the network the exercise
 * uses: `AlignDlib.align(96, img, landmarks=..., landmarkIndices=INNER_EYES_AND_BOTTOM_LIP)`, i.e. the affine
 * transform that sends three of the 68 landmarks — the inner eye corners (39, 42) and the middle of the bottom lip
 * (57) — onto OpenFace's mean-face template, min-max normalised to 0..1 and scaled to the 96x96 output
 * (`cv2.getAffineTransform`), then the image warped with it, bilinear, black outside the frame (`cv2.warpAffine`'s
 * defaults). Both conventions put pixel (x, y)'s centre at integer coordinates, as tf.image.transform does.
 *
 * The default encoder (dlib-resnet128) keeps face-api's dlib-style alignment (src/recognition/pipeline.ts).
 */
import type * as TF from '@tensorflow/tfjs';
import { tf } from '../runtime/tf.ts';
import { FacegateError } from '../util/errors.ts';

export interface Point {
  x: number;
  y: number;
}

/** [a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type Affine = [number, number, number, number, number, number];

/**
 * OpenFace's `TEMPLATE` (openface/align_dlib.py, Carnegie Mellon University, Apache-2.0): the mean position of
 * dlib's 68 landmarks, (x, y) in iBUG 300-W order.
 */
export const OPENFACE_TEMPLATE: readonly (readonly [number, number])[] = [
  [0.0792396913815, 0.339223741112],
  [0.0829219487236, 0.456955367943],
  [0.0967927109165, 0.575648016728],
  [0.122141515615, 0.691921601066],
  [0.168687863544, 0.800341263616],
  [0.239789390707, 0.895732504778],
  [0.325662452515, 0.977068762493],
  [0.422318282013, 1.04329000149],
  [0.531777802068, 1.06080371126],
  [0.641296298053, 1.03981924107],
  [0.738105872266, 0.972268833998],
  [0.824444363295, 0.889624082279],
  [0.894792677532, 0.792494155836],
  [0.939395486253, 0.681546643421],
  [0.96111933829, 0.562238253072],
  [0.970579841181, 0.441758925744],
  [0.971193274221, 0.322118743967],
  [0.163846223133, 0.249151738053],
  [0.21780354657, 0.204255863861],
  [0.291299351124, 0.192367318323],
  [0.367460241458, 0.203582210627],
  [0.4392945113, 0.233135599851],
  [0.586445962425, 0.228141644834],
  [0.660152671635, 0.195923841854],
  [0.737466449096, 0.182360984545],
  [0.813236546239, 0.192828009114],
  [0.8707571886, 0.235293377042],
  [0.51534533827, 0.31863546193],
  [0.516221448289, 0.396200446263],
  [0.517118861835, 0.473797687758],
  [0.51816430343, 0.553157797772],
  [0.433701156035, 0.604054457668],
  [0.475501237769, 0.62076344024],
  [0.520712933176, 0.634268222208],
  [0.565874114041, 0.618796581487],
  [0.607054002672, 0.60157671656],
  [0.252418718401, 0.331052263829],
  [0.298663015648, 0.302646354002],
  [0.355749724218, 0.303020650651],
  [0.403718978315, 0.33867711083],
  [0.352507175597, 0.349987615384],
  [0.296791759886, 0.350478978225],
  [0.631326076346, 0.334136672344],
  [0.679073381078, 0.29645404267],
  [0.73597236153, 0.294721285802],
  [0.782865376271, 0.321305281656],
  [0.740312274764, 0.341849376713],
  [0.68499850091, 0.343734332172],
  [0.353167761422, 0.746189164237],
  [0.414587777921, 0.719053835073],
  [0.477677654595, 0.706835892494],
  [0.522732900812, 0.717092275768],
  [0.569832064287, 0.705414478982],
  [0.635195811927, 0.71565572516],
  [0.69951672331, 0.739419187253],
  [0.639447159575, 0.805236879972],
  [0.576410514055, 0.835436670169],
  [0.525398405766, 0.841706377792],
  [0.47641545769, 0.837505914975],
  [0.41379548902, 0.810045601727],
  [0.380084785646, 0.749979603086],
  [0.477955996282, 0.74513234612],
  [0.523389793327, 0.748924302636],
  [0.571057789237, 0.74332894691],
  [0.672409137852, 0.744177032192],
  [0.572539621444, 0.776609286626],
  [0.5240106503, 0.783370783245],
  [0.477561227414, 0.778476346951],
];

/** `AlignDlib.INNER_EYES_AND_BOTTOM_LIP`: the landmarks OpenFace aligns on for nn4.small2. */
export const INNER_EYES_AND_BOTTOM_LIP = [39, 42, 57] as const;

/** nn4.small2's input side. */
export const OPENFACE_IMG_DIM = 96;

/** `MINMAX_TEMPLATE = (TEMPLATE - TPL_MIN) / (TPL_MAX - TPL_MIN)`, per axis. */
export const MINMAX_TEMPLATE: readonly Point[] = (() => {
  const xs = OPENFACE_TEMPLATE.map(([x]) => x);
  const ys = OPENFACE_TEMPLATE.map(([, y]) => y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return OPENFACE_TEMPLATE.map(([x, y]) => ({ x: (x - x0) / (x1 - x0), y: (y - y0) / (y1 - y0) }));
})();

/** `cv2.getAffineTransform(src, dst)`: the affine map sending the three `src` points onto the three `dst` points. */
export function affineFromPoints(src: readonly Point[], dst: readonly Point[]): Affine {
  const [p, q, r] = src as [Point, Point, Point];
  // Solve [x y 1]·[a d; b e; c f] = [x' y'] for the three points by Cramer's rule.
  const det = p.x * (q.y - r.y) - p.y * (q.x - r.x) + (q.x * r.y - r.x * q.y);
  if (!(Math.abs(det) > 1e-9)) throw new FacegateError('face landmarks are degenerate (collinear): cannot align');
  const solve = (u: number, v: number, w: number): [number, number, number] => [
    (u * (q.y - r.y) - p.y * (v - w) + (v * r.y - w * q.y)) / det,
    (p.x * (v - w) - u * (q.x - r.x) + (q.x * w - r.x * v)) / det,
    (p.x * (q.y * w - r.y * v) - p.y * (q.x * w - r.x * v) + u * (q.x * r.y - r.x * q.y)) / det,
  ];
  const [d0, d1, d2] = dst as [Point, Point, Point];
  return [...solve(d0.x, d1.x, d2.x), ...solve(d0.y, d1.y, d2.y)] as Affine;
}

export function applyAffine([a, b, c, d, e, f]: Affine, { x, y }: Point): Point {
  return { x: a * x + b * y + c, y: d * x + e * y + f };
}

export function invertAffine([a, b, c, d, e, f]: Affine): Affine {
  const det = a * e - b * d;
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

/** The transform from image coordinates to the aligned crop's: landmarks 39, 42, 57 → `imgDim`·MINMAX_TEMPLATE. */
export function openFaceTransform(landmarks: readonly Point[], imgDim = OPENFACE_IMG_DIM): Affine {
  if (landmarks.length !== 68)
    throw new FacegateError(`OpenFace alignment needs 68 landmarks, got ${landmarks.length}`);
  const src = INNER_EYES_AND_BOTTOM_LIP.map((i) => landmarks[i] as Point);
  const dst = INNER_EYES_AND_BOTTOM_LIP.map((i) => {
    const t = MINMAX_TEMPLATE[i] as Point;
    return { x: imgDim * t.x, y: imgDim * t.y };
  });
  return affineFromPoints(src, dst);
}

/** The aligned `imgDim`x`imgDim` crop (float32, RGB 0..255) of an image [h, w, 3]; the caller disposes it. */
export function alignOpenFace(image: TF.Tensor3D, landmarks: readonly Point[], imgDim = OPENFACE_IMG_DIM): TF.Tensor3D {
  // tf.image.transform maps each output pixel to its input position: the inverse of the alignment.
  const [a, b, c, d, e, f] = invertAffine(openFaceTransform(landmarks, imgDim));
  return tf.tidy(() => {
    const batch = tf.expandDims(tf.cast(image, 'float32'), 0) as TF.Tensor4D;
    const transforms = tf.tensor2d([[a, b, c, d, e, f, 0, 0]]);
    const out = tf.image.transform(batch, transforms, 'bilinear', 'constant', 0, [imgDim, imgDim]);
    return tf.squeeze(out, [0]) as TF.Tensor3D;
  });
}
