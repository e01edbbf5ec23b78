// Tests for the shared QR encoder (web POS receipts, portal pairing codes). Run with `node --test web/`.
//
// Always run: comparison with matrices produced by an independent encoder (the
// `qrcode` npm package, captured once below) plus structural checks.
// Optional, when the packages exist somewhere outside the repo (never a
// dependency of the app):
//   QR_DECODER=/tmp/x/node_modules/jsqr     decode our output from pixels
//   QR_REFERENCE=/tmp/x/node_modules/qrcode compare many inputs bit for bit
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { encodeQr, qrSvg, alignmentPositions } from './qr.js';

const require = createRequire(import.meta.url);
const load = (envName) => {
  const p = process.env[envName];
  if (!p) return null;
  try { return require(p); } catch { return null; }
};

// Rows as hex (leading bit = leftmost module), captured from qrcode@1.5
// `QRCode.create(text, {errorCorrectionLevel, maskPattern})`.
const REFERENCES = [
  {
    text: 'kassa:receipt:0192f0a4-7b1e-7c3a-9d2e-1f2a3b4c5d6e', ecl: 'M', mask: 3, version: 4,
    rows: ['1fd69af7f', '105894641', '17472a55d', '17537145d', '17444985d', '104607c41', '1fd55557f', '001009000', '16e30ad4b', '1e1147e47', '1ac359a51', '1e84c6018', '14db0419b', '00011450c', '185474538', '152ed3b9f', '05e2e2bfc', '1a007c3f3', '0c45f8cb8', '01b5d2613', '106fc6b8e', '168964bed', '03f79436b', '0895d7073', '1551681f8', '001bba718', '1fdec235c', '105122b1f', '174f09bfd', '175c85a21', '17524cb60', '1045fa761', '1fdfebed4'],
  },
  {
    text: 'https://example.com/r/ABC', ecl: 'L', mask: 6, version: 2,
    rows: ['1fd347f', '104c141', '1745d5d', '174195d', '174ad5d', '1045541', '1fd557f', '0016b00', '1b4e141', '0ca9fbe', '13e6bb9', '1e2f4ef', '02cb361', '1e80b12', '1d6b35f', '112e4ed', '154ddf6', '0017916', '1fca151', '1043b13', '175dff0', '175c5c3', '174369f', '105d637', '1fd3949'],
  },
];

const toBits = (qr) => qr.modules.map((row) => row.map((d) => (d ? '1' : '0')).join(''));
const hexRowToBits = (hex, size) => BigInt('0x' + hex).toString(2).padStart(size, '0');

test('matches an independent encoder bit for bit', () => {
  for (const ref of REFERENCES) {
    const qr = encodeQr(ref.text, { ecl: ref.ecl, mask: ref.mask });
    assert.equal(qr.version, ref.version);
    assert.deepEqual(toBits(qr), ref.rows.map((h) => hexRowToBits(h, qr.size)), ref.text);
  }
});

test('structure: size, finders, timing, dark module', () => {
  const qr = encodeQr('kassa:receipt:' + 'x'.repeat(90), { ecl: 'M' });
  assert.ok(qr.version <= 10, `~100 chars fit in v10-M, got v${qr.version}`);
  assert.equal(qr.size, qr.version * 4 + 17);
  const m = qr.modules, s = qr.size;
  for (const [cx, cy] of [[3, 3], [s - 4, 3], [3, s - 4]]) {
    assert.equal(m[cy][cx], true, 'finder centre dark');
    assert.equal(m[cy - 2][cx - 2], false, 'finder inner ring light');
    assert.equal(m[cy - 3][cx - 3], true, 'finder outer ring dark');
  }
  for (let i = 8; i < s - 8; i++) {
    assert.equal(m[6][i], i % 2 === 0, 'horizontal timing');
    assert.equal(m[i][6], i % 2 === 0, 'vertical timing');
  }
  assert.equal(m[s - 8][8], true, 'dark module');
});

test('alignment pattern positions follow the standard table', () => {
  assert.deepEqual(alignmentPositions(1), []);
  assert.deepEqual(alignmentPositions(2), [6, 18]);
  assert.deepEqual(alignmentPositions(7), [6, 22, 38]);
  assert.deepEqual(alignmentPositions(10), [6, 28, 50]);
  assert.deepEqual(alignmentPositions(32), [6, 34, 60, 86, 112, 138]);
});

test('rejects data beyond the allowed versions', () => {
  assert.throws(() => encodeQr('x'.repeat(300), { ecl: 'M', maxVersion: 10 }), RangeError);
});

test('SVG output has a quiet zone and escapes the title', () => {
  const svg = qrSvg('kassa:receipt:1', { title: '<r&d>' });
  const qr = encodeQr('kassa:receipt:1');
  assert.match(svg, new RegExp(`viewBox="0 0 ${qr.size + 8} ${qr.size + 8}"`));
  assert.match(svg, /<title>&lt;r&amp;d&gt;<\/title>/);
});

const jsQR = load('QR_DECODER');
test('a real decoder reads what we encode', { skip: jsQR ? false : 'set QR_DECODER to a jsqr install' }, () => {
  const decode = jsQR.default || jsQR;
  const texts = [
    'kassa:receipt:0192f0a4-7b1e-7c3a-9d2e-1f2a3b4c5d6e',
    'a',
    'Hello, wörld! 日本語 🧾',
    'https://pos.example/receipts/' + 'r'.repeat(80),
  ];
  for (const text of texts) {
    for (const ecl of ['L', 'M']) {
      const qr = encodeQr(text, { ecl });
      const scale = 4, border = 4, w = (qr.size + border * 2) * scale;
      const px = new Uint8ClampedArray(w * w * 4).fill(255);
      for (let y = 0; y < qr.size; y++) {
        for (let x = 0; x < qr.size; x++) {
          if (!qr.modules[y][x]) continue;
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const i = (((y + border) * scale + dy) * w + (x + border) * scale + dx) * 4;
              px[i] = px[i + 1] = px[i + 2] = 0;
            }
          }
        }
      }
      const result = decode(px, w, w);
      assert.ok(result, `decoded ${ecl} v${qr.version}`);
      assert.equal(result.data, text);
      assert.equal(result.version, qr.version);
    }
  }
});

const QRCode = load('QR_REFERENCE');
test('matches the qrcode package for every mask and level', { skip: QRCode ? false : 'set QR_REFERENCE to a qrcode install' }, () => {
  for (const text of ['kassa:receipt:42', 'Grüße ' + 'z'.repeat(120), 'x'.repeat(400)]) {
    for (const ecl of ['L', 'M', 'Q', 'H']) {
      for (let mask = 0; mask < 8; mask++) {
        const ours = encodeQr(text, { ecl, mask });
        const ref = QRCode.create(text, { errorCorrectionLevel: ecl, maskPattern: mask, version: ours.version });
        const refBits = [];
        for (let y = 0; y < ref.modules.size; y++) {
          let row = '';
          for (let x = 0; x < ref.modules.size; x++) row += ref.modules.data[y * ref.modules.size + x] ? '1' : '0';
          refBits.push(row);
        }
        assert.deepEqual(toBits(ours), refBits, `${ecl} mask ${mask} ${text.slice(0, 12)}`);
      }
    }
  }
});
