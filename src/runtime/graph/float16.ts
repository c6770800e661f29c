/** IEEE 754 half precision → float32, for FP16 weights (OpenVINO IR) widened once at load. */

const scratch = new DataView(new ArrayBuffer(4));

export function float16ToFloat32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) {
    // Zero or subnormal: mant · 2^-24, exactly representable in float32.
    const v = mant * 2 ** -24;
    return sign ? -v : v;
  }
  // Normal numbers (rebias 15 → 127), infinities and NaNs (exponent all ones).
  const bits = exp === 0x1f ? sign | 0x7f800000 | (mant << 13) : sign | ((exp + 112) << 23) | (mant << 13);
  scratch.setUint32(0, bits >>> 0);
  return scratch.getFloat32(0);
}

/** Widens `count` little-endian float16 values starting at `byteOffset`. */
export function float16ArrayToFloat32(bytes: Uint8Array, byteOffset: number, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + byteOffset, count * 2);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = float16ToFloat32(view.getUint16(i * 2, true));
  return out;
}
