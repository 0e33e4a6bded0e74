// Regenerates golden.json: bodies measured by Twilio's own calculator, for
// reference_test.go to agree with.
//
//   (cd /tmp/ref && npm install sms-segments-calculator@1.3.0)
//   NODE_PATH=/tmp/ref/node_modules node gen_golden.js > golden.json
//
// Optional arguments: a case count and a seed (defaults 450 and 1), e.g.
// `node gen_golden.js 50000 7 > /tmp/big.json` for a long local run with
// SEGMENTS_REFERENCE_FILE=/tmp/big.json go test -run Reference ./sms/segments/.
const { SegmentedMessage } = require('sms-segments-calculator');
const SmartEncodingMap = require('sms-segments-calculator/dist/libs/SmartEncodingMap').default;

const count = Number(process.argv[2] || 450);
let seed = Number(process.argv[3] || 1);
function rand() { // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const gsmBasic = [...'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'];
const gsmExt = [...'\f^{}\\[~]|€'];
const nonGsm = ['ç', 'á', 'Á', 'í', '`', 'ı', 'Ж', '中', 'ÿ', 'ő', '\ufffd', 'ﬁ', '∞'];
const emoji = ['😀', '👍', '👍🏽', '👨‍👩‍👧‍👦', '👩‍❤️‍👨', '❤️', '🏳️‍🌈', '🇮🇹', '🇺🇸', '🇦', '🧑‍🤝‍🧑', '1️⃣', '🏴󠁧󠁢󠁳󠁣󠁴󠁿',
  '🏽', '♀', '❤', '👦🏻', '🐻‍❄️', '😶‍🌫️', '👁️‍🗨️', '🤷‍♀️'];
const marks = ['\u0301', '\u0300', '\u0303', '\u0308', '\u200d', '\ufe0f', '\u200c', '\u20e3', '\u0903', '\u093f'];
const other = ['한', '\u1100', '\u1161', '\u11a8', '\u0600', 'क्षि', '\t', '\u0000', '\u0085', '\u200b', '\ufeff',
  '\u00a0', '\r\n', '\u2028', '\u00ad', 'e\u0301', '\ud83c\udde6\ud83c\udde8\ud83c\uddea'];
const smartKeys = Object.keys(SmartEncodingMap);

function token(weights) {
  const r = rand();
  let acc = 0;
  for (const [w, pool] of weights) {
    acc += w;
    if (r < acc) return pick(pool);
  }
  return pick(gsmBasic);
}
const mixes = {
  gsm: [[0.93, gsmBasic], [0.07, gsmExt]],
  gsmOne: [[0.985, gsmBasic], [0.01, gsmExt], [0.005, nonGsm]],
  smart: [[0.85, gsmBasic], [0.05, gsmExt], [0.1, smartKeys]],
  ucs: [[0.6, gsmBasic], [0.05, gsmExt], [0.15, nonGsm], [0.2, emoji]],
  chaos: [[0.2, gsmBasic], [0.1, gsmExt], [0.1, nonGsm], [0.2, emoji], [0.25, marks], [0.15, other]],
};
const lengths = {
  gsm: () => pick([int(150, 170), int(300, 312), int(452, 468), int(0, 40)]),
  gsmOne: () => pick([int(150, 170), int(300, 312)]),
  smart: () => pick([int(20, 80), int(150, 170), int(300, 312)]),
  ucs: () => pick([int(62, 74), int(128, 140), int(195, 206), int(0, 20)]),
  chaos: () => int(0, 90),
};

function body(mix) {
  const n = lengths[mix]();
  let s = '';
  for (let i = 0; i < n; i++) s += token(mixes[mix]);
  return s;
}

function measure(b) {
  const m = new SegmentedMessage(b);
  const s = new SegmentedMessage(b, 'auto', true);
  const nonGsm = [];
  m.encodedChars.forEach((c, i) => { if (!c.isGSM7) nonGsm.push([c.raw, i]); });
  // Segment extends Array, so map/filter on it build Segments; walk it instead.
  const cuts = m.segments.map((seg) => {
    let text = '';
    for (let i = 0; i < seg.length; i++) if (!seg[i].isUserDataHeader) text += seg[i].raw;
    return [...text].length; // code points
  });
  const overflow = m.segments.some((seg) => seg.sizeInBits() > 1120);
  const row = { body: b, encoding: m.encodingName, characters: m.numberOfCharacters, segments: m.segmentsCount, cuts };
  if (m.encodingName === 'UCS-2') row.non_gsm = nonGsm;
  if (overflow) row.overflow = true;
  const smart = s.graphemes.join('');
  if (smart !== b) row.smart = smart; // absent: smart encoding leaves the body as it is
  row.smart_encoding = s.encodingName;
  return row;
}

const rep = (c, n) => c.repeat(n);
const fixed = [
  '', 'a', '€', '\f', '`', 'ç', 'Ç', '\r\n', 'a\r\nb', '\r', '\n\n', '😀', '🇮🇹', '👨‍👩‍👧‍👦', 'e\u0301', 'é́́',
  rep('a', 160), rep('a', 161), rep('a', 306), rep('a', 307), rep('a', 459), rep('a', 460),
  rep('a', 152) + '€', rep('a', 152) + '€' + rep('a', 7), rep('a', 159) + '€', rep('a', 153) + '[' + rep('b', 10),
  rep('a', 158) + '{}', rep('a', 305) + '^', rep('a', 306) + '|', rep('|', 80), rep('|', 81),
  rep('ç', 70), rep('ç', 71), rep('ç', 134), rep('ç', 135), rep('ç', 201), rep('ç', 202),
  rep('a', 66) + '😀', rep('a', 67) + '😀', rep('a', 68) + '😀', rep('a', 69) + '😀', rep('a', 66) + '😀' + rep('b', 10),
  '😀' + rep(']', 68), '😀' + rep(']', 69), rep('a', 60) + '👨‍👩‍👧‍👦', rep('a', 62) + '👨‍👩‍👧‍👦' + 'b',
  rep('a', 65) + '🇮🇹' + rep('b', 5), 'e' + rep('\u0301', 40), rep('b', 30) + 'e' + rep('\u0301', 80) + rep('c', 30),
  'ab' + 'e' + rep('\u0301', 66) + 'cd', rep('x', 100) + '`', '“Hello” — it’s… done', 'tab\there', '\u00a0nbsp',
  rep('a', 150) + '\r\n' + rep('b', 20), 'Hi 👋🏽 there', '🏳️‍🌈 flag', '1️⃣2️⃣', '\ufeffBOM', 'zero\u200bwidth',
];

const rows = fixed.map(measure);
const mixNames = Object.keys(mixes);
for (let i = 0; i < count; i++) rows.push(measure(body(mixNames[i % mixNames.length])));
process.stdout.write('[\n' + rows.map((r) => JSON.stringify(r)).join(',\n') + '\n]\n');
