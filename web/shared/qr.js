// Minimal QR Code encoder (ISO/IEC 18004), written for Kassa's web POS and portal so the
// apps have no third-party runtime code. Byte mode only (UTF-8), error
// correction levels L/M/Q/H, versions 1–40, automatic or fixed mask.
//
// The algorithm follows the standard closely (and the well-known structure of
// Project Nayuki's reference implementation): encode data bits, split into
// blocks with Reed–Solomon ECC over GF(256), interleave, place in the matrix
// around the function patterns, then choose the mask with the lowest penalty.

// Error correction level → [format bits, table index].
const ECL = {
  L: { bits: 1, idx: 0 },
  M: { bits: 0, idx: 1 },
  Q: { bits: 3, idx: 2 },
  H: { bits: 2, idx: 3 },
};

// ECC codewords per block, indexed [ecl][version] (index 0 unused). From the
// standard's table 9.
const ECC_PER_BLOCK = [
  [-1, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
  [-1, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  [-1, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
];

// Number of ECC blocks, indexed [ecl][version].
const NUM_BLOCKS = [
  [-1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
  [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
  [-1, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
  [-1, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
];

// Number of modules available for data+ECC once all function patterns are
// placed; derived in closed form so no per-version table is needed.
function rawDataModules(ver) {
  let result = (16 * ver + 128) * ver + 64;
  if (ver >= 2) {
    const numAlign = Math.floor(ver / 7) + 2;
    result -= (25 * numAlign - 10) * numAlign - 55;
    if (ver >= 7) result -= 36; // two 6×3 version information areas
  }
  return result;
}

function dataCodewords(ver, ecl) {
  return Math.floor(rawDataModules(ver) / 8) - ECC_PER_BLOCK[ecl.idx][ver] * NUM_BLOCKS[ecl.idx][ver];
}

// Centre coordinates of alignment patterns (same list for rows and columns).
export function alignmentPositions(ver) {
  if (ver === 1) return [];
  const size = ver * 4 + 17;
  const numAlign = Math.floor(ver / 7) + 2;
  const step = Math.floor((ver * 8 + numAlign * 3 + 5) / (numAlign * 4 - 4)) * 2;
  const result = [6];
  for (let pos = size - 7; result.length < numAlign; pos -= step) result.splice(1, 0, pos);
  return result;
}

// ---- Reed–Solomon over GF(2^8) with the QR polynomial x^8+x^4+x^3+x^2+1 ----

function gfMul(x, y) {
  // Russian-peasant multiplication; tables are not worth it for a few hundred bytes.
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z & 0xff;
}

// Coefficients of the generator polynomial Π(x − α^i), i = 0..degree−1,
// highest power first, leading 1 omitted.
function rsDivisor(degree) {
  const result = new Array(degree).fill(0);
  result[degree - 1] = 1;
  let root = 1; // α^0
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < result.length; j++) {
      result[j] = gfMul(result[j], root);
      if (j + 1 < result.length) result[j] ^= result[j + 1];
    }
    root = gfMul(root, 0x02);
  }
  return result;
}

// Remainder of data(x)·x^degree divided by the generator: the ECC codewords.
function rsRemainder(data, divisor) {
  const result = new Array(divisor.length).fill(0);
  for (const b of data) {
    const factor = b ^ result.shift();
    result.push(0);
    divisor.forEach((coef, i) => { result[i] ^= gfMul(coef, factor); });
  }
  return result;
}

// ---- Bit helpers ----

function appendBits(bits, value, len) {
  for (let i = len - 1; i >= 0; i--) bits.push((value >>> i) & 1);
}

const bit = (x, i) => ((x >>> i) & 1) !== 0;

function utf8(text) {
  return Array.from(new TextEncoder().encode(text));
}

// ---- Matrix construction ----

class Matrix {
  constructor(ver) {
    this.size = ver * 4 + 17;
    this.modules = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
    this.isFunction = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
  }
  setFn(x, y, dark) {
    this.modules[y][x] = dark;
    this.isFunction[y][x] = true;
  }
}

function drawFinder(m, cx, cy) {
  // 7×7 finder plus its 1-module light separator (clipped at the edges).
  for (let dy = -4; dy <= 4; dy++) {
    for (let dx = -4; dx <= 4; dx++) {
      const x = cx + dx, y = cy + dy;
      if (x < 0 || y < 0 || x >= m.size || y >= m.size) continue;
      const dist = Math.max(Math.abs(dx), Math.abs(dy));
      m.setFn(x, y, dist !== 2 && dist !== 4);
    }
  }
}

function drawAlignment(m, cx, cy) {
  for (let dy = -2; dy <= 2; dy++) {
    for (let dx = -2; dx <= 2; dx++) {
      m.setFn(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    }
  }
}

function drawFormatBits(m, eclBits, mask) {
  const data = (eclBits << 3) | mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const bits = ((data << 10) | rem) ^ 0x5412;
  const s = m.size;
  // First copy, around the top-left finder.
  for (let i = 0; i <= 5; i++) m.setFn(8, i, bit(bits, i));
  m.setFn(8, 7, bit(bits, 6));
  m.setFn(8, 8, bit(bits, 7));
  m.setFn(7, 8, bit(bits, 8));
  for (let i = 9; i < 15; i++) m.setFn(14 - i, 8, bit(bits, i));
  // Second copy, split between the top-right and bottom-left finders.
  for (let i = 0; i < 8; i++) m.setFn(s - 1 - i, 8, bit(bits, i));
  for (let i = 8; i < 15; i++) m.setFn(8, s - 15 + i, bit(bits, i));
  m.setFn(8, s - 8, true); // the "dark module", always set
}

function drawVersionBits(m, ver) {
  if (ver < 7) return;
  let rem = ver;
  for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
  const bits = (ver << 12) | rem;
  for (let i = 0; i < 18; i++) {
    const a = m.size - 11 + (i % 3), b = Math.floor(i / 3);
    m.setFn(a, b, bit(bits, i));
    m.setFn(b, a, bit(bits, i));
  }
}

function drawFunctionPatterns(m, ver, ecl) {
  const s = m.size;
  for (let i = 0; i < s; i++) {
    m.setFn(6, i, i % 2 === 0); // timing patterns
    m.setFn(i, 6, i % 2 === 0);
  }
  drawFinder(m, 3, 3);
  drawFinder(m, s - 4, 3);
  drawFinder(m, 3, s - 4);
  const pos = alignmentPositions(ver);
  const n = pos.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      // Skip the three corners occupied by finder patterns.
      if ((i === 0 && j === 0) || (i === 0 && j === n - 1) || (i === n - 1 && j === 0)) continue;
      drawAlignment(m, pos[i], pos[j]);
    }
  }
  // Reserve the format areas now (real bits are written once the mask is known).
  drawFormatBits(m, ecl.bits, 0);
  drawVersionBits(m, ver);
}

// Place codewords in the two-column zig-zag, bottom-right upwards, skipping
// function modules and the vertical timing column.
function drawCodewords(m, codewords) {
  let i = 0;
  const total = codewords.length * 8;
  for (let right = m.size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < m.size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const upward = ((right + 1) & 2) === 0;
        const y = upward ? m.size - 1 - vert : vert;
        if (!m.isFunction[y][x] && i < total) {
          m.modules[y][x] = bit(codewords[i >>> 3], 7 - (i & 7));
          i++;
        }
        // Remainder bits (if any) stay light, as the standard requires.
      }
    }
  }
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x, y) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

// XOR is its own inverse, so applying the same mask twice undoes it.
function applyMask(m, mask) {
  const f = MASKS[mask];
  for (let y = 0; y < m.size; y++) {
    for (let x = 0; x < m.size; x++) {
      if (!m.isFunction[y][x] && f(x, y)) m.modules[y][x] = !m.modules[y][x];
    }
  }
}

// Penalty score per the standard's four rules (lower is better for scanners).
function penalty(m) {
  const s = m.size, mod = m.modules;
  let score = 0;
  const lines = [];
  for (let y = 0; y < s; y++) lines.push(mod[y]);
  for (let x = 0; x < s; x++) lines.push(mod.map((row) => row[x]));
  // Rule 1: runs of 5+ same-colour modules in a row/column.
  // Rule 3: finder-like 1:1:3:1:1 patterns with 4 light modules on one side.
  const finderA = [1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0];
  const finderB = [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1];
  for (const line of lines) {
    let run = 1;
    for (let i = 1; i <= s; i++) {
      if (i < s && line[i] === line[i - 1]) { run++; continue; }
      if (run >= 5) score += 3 + (run - 5);
      run = 1;
    }
    for (let i = 0; i + 11 <= s; i++) {
      let a = true, b = true;
      for (let k = 0; k < 11 && (a || b); k++) {
        const v = line[i + k] ? 1 : 0;
        if (v !== finderA[k]) a = false;
        if (v !== finderB[k]) b = false;
      }
      if (a) score += 40;
      if (b) score += 40;
    }
  }
  // Rule 2: 2×2 blocks of one colour.
  for (let y = 0; y < s - 1; y++) {
    for (let x = 0; x < s - 1; x++) {
      const c = mod[y][x];
      if (c === mod[y][x + 1] && c === mod[y + 1][x] && c === mod[y + 1][x + 1]) score += 3;
    }
  }
  // Rule 4: balance of dark and light modules.
  let dark = 0;
  for (const row of mod) for (const c of row) if (c) dark++;
  const total = s * s;
  const k = Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1;
  score += k * 10;
  return score;
}

/**
 * Encode text as a QR code.
 * @param {string} text  encoded as UTF-8 in byte mode
 * @param {{ecl?: 'L'|'M'|'Q'|'H', minVersion?: number, maxVersion?: number, mask?: number}} [opts]
 * @returns {{version: number, size: number, ecl: string, mask: number, modules: boolean[][]}}
 *   modules[y][x] is true for a dark module.
 */
export function encodeQr(text, opts = {}) {
  const eclName = opts.ecl || 'M';
  const ecl = ECL[eclName];
  if (!ecl) throw new RangeError(`unknown error correction level ${eclName}`);
  const minVersion = opts.minVersion || 1;
  const maxVersion = opts.maxVersion || 40;
  const mask = opts.mask ?? -1;
  if (mask < -1 || mask > 7) throw new RangeError('mask must be -1..7');
  const bytes = utf8(String(text));

  // Smallest version whose capacity holds mode + count + data bits.
  let ver, capacityBits;
  for (ver = minVersion; ; ver++) {
    if (ver > maxVersion) throw new RangeError('data too long for a QR code of the allowed versions');
    capacityBits = dataCodewords(ver, ecl) * 8;
    const countBits = ver <= 9 ? 8 : 16;
    if (4 + countBits + bytes.length * 8 <= capacityBits) break;
  }

  const bits = [];
  appendBits(bits, 0b0100, 4); // byte mode indicator
  appendBits(bits, bytes.length, ver <= 9 ? 8 : 16);
  for (const b of bytes) appendBits(bits, b, 8);
  appendBits(bits, 0, Math.min(4, capacityBits - bits.length)); // terminator
  appendBits(bits, 0, (8 - (bits.length % 8)) % 8);
  for (let pad = 0xec; bits.length < capacityBits; pad ^= 0xec ^ 0x11) appendBits(bits, pad, 8);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) {
    let byte = 0;
    for (let k = 0; k < 8; k++) byte = (byte << 1) | bits[i + k];
    data.push(byte);
  }

  // Split into blocks (short ones first), add ECC, interleave.
  const numBlocks = NUM_BLOCKS[ecl.idx][ver];
  const eccLen = ECC_PER_BLOCK[ecl.idx][ver];
  const rawCodewords = Math.floor(rawDataModules(ver) / 8);
  const numShort = numBlocks - (rawCodewords % numBlocks);
  const shortLen = Math.floor(rawCodewords / numBlocks);
  const divisor = rsDivisor(eccLen);
  const blocks = [];
  for (let i = 0, k = 0; i < numBlocks; i++) {
    const dat = data.slice(k, k + shortLen - eccLen + (i < numShort ? 0 : 1));
    k += dat.length;
    const ecc = rsRemainder(dat, divisor);
    if (i < numShort) dat.push(null); // placeholder keeps columns aligned while interleaving
    blocks.push(dat.concat(ecc));
  }
  const codewords = [];
  for (let i = 0; i < blocks[0].length; i++) {
    for (const block of blocks) {
      if (block[i] !== null) codewords.push(block[i]);
    }
  }

  const m = new Matrix(ver);
  drawFunctionPatterns(m, ver, ecl);
  drawCodewords(m, codewords);

  let chosen = mask;
  if (chosen === -1) {
    let best = Infinity;
    for (let i = 0; i < 8; i++) {
      applyMask(m, i);
      drawFormatBits(m, ecl.bits, i);
      const p = penalty(m);
      if (p < best) { best = p; chosen = i; }
      applyMask(m, i); // undo
    }
  }
  applyMask(m, chosen);
  drawFormatBits(m, ecl.bits, chosen);
  return { version: ver, size: m.size, ecl: eclName, mask: chosen, modules: m.modules };
}

/**
 * Render a QR code as a standalone SVG string (one path, crisp edges).
 * @param {string|ReturnType<typeof encodeQr>} input  text or an encodeQr result
 * @param {{border?: number, dark?: string, light?: string, title?: string, ecl?: string}} [opts]
 */
export function qrSvg(input, opts = {}) {
  const qr = typeof input === 'string' ? encodeQr(input, { ecl: opts.ecl || 'M' }) : input;
  const border = opts.border ?? 4; // the standard's quiet zone
  const dark = opts.dark || '#000';
  const light = opts.light || '#fff';
  const dim = qr.size + border * 2;
  let path = '';
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (qr.modules[y][x]) path += `M${x + border} ${y + border}h1v1h-1z`;
    }
  }
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  const title = opts.title ? `<title>${esc(opts.title)}</title>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${dim} ${dim}" shape-rendering="crispEdges" role="img">` +
    `${title}<rect width="${dim}" height="${dim}" fill="${esc(light)}"/><path d="${path}" fill="${esc(dark)}"/></svg>`;
}
