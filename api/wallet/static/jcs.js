// Canonical JSON (RFC 8785) over the protocol's restricted model (docs/PROTOCOL.md §2).
// parseStrict refuses what a node refuses (floats, -0, big integers, duplicate keys,
// lone surrogates, deep nesting); canonical() writes the bytes that are hashed and signed.

export const JSON_INT_MAX = 9007199254740991;
export const DEPTH_MAX = 32;

export class CanonicalError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

const ESC = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Parse JSON text within the restricted model, or throw CanonicalError with a node's code. */
export function parseStrict(text, depthMax = DEPTH_MAX) {
  let i = 0;
  const fail = (code, msg) => { throw new CanonicalError(code, `${msg} at offset ${i}`); };
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const value = (depth) => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= depthMax) fail('too_deep', 'nested too deep');
      return c === '{' ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    if (text.startsWith('NaN', i) || text.startsWith('Infinity', i) ||
        text.startsWith('-Infinity', i)) fail('float_not_allowed', 'not a finite number');
    return number();
  };
  const number = () => {
    const m = /^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '-' || m[0] === '') fail('malformed_json', 'not JSON');
    i += m[0].length;
    if (m[2] !== undefined || m[3] !== undefined) fail('float_not_allowed', 'a number with a fraction or exponent');
    if (m[0] === '-0') fail('negative_zero', '-0');
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) fail('integer_out_of_range', 'integer outside ±(2^53 − 1)');
    return n;
  };
  const string = () => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('malformed_json', 'unterminated string');
      const c = text[i];
      if (c === '"') { i++; break; }
      if (c < ' ') fail('malformed_json', 'control character in a string');
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('malformed_json', 'bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e in ESC) { out += ESC[e]; i += 2; } else fail('malformed_json', 'bad escape');
      } else { out += c; i++; }
    }
    if (!out.isWellFormed()) fail('invalid_unicode', 'lone surrogate');
    return out;
  };
  const array = (depth) => {
    i++; const out = []; ws();
    if (text[i] === ']') { i++; return out; }
    for (;;) {
      out.push(value(depth)); ws();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === ']') { i++; return out; }
      fail('malformed_json', 'expected , or ]');
    }
  };
  const object = (depth) => {
    i++; const out = new Map(); ws();
    if (text[i] === '}') { i++; return Object.fromEntries(out); }
    for (;;) {
      ws();
      if (text[i] !== '"') fail('malformed_json', 'expected a key');
      const key = string();
      if (out.has(key)) fail('duplicate_key', `duplicate key ${JSON.stringify(key)}`);
      ws();
      if (text[i] !== ':') fail('malformed_json', 'expected :');
      i++;
      out.set(key, value(depth)); ws();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === '}') { i++; return Object.fromEntries(out); }
      fail('malformed_json', 'expected , or }');
    }
  };
  if (!text.isWellFormed()) fail('invalid_unicode', 'lone surrogate');
  const result = value(0);
  ws();
  if (i !== text.length) fail('malformed_json', 'trailing characters');
  return result;
}

function encodeString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 8) out += '\\b';
    else if (c === 9) out += '\\t';
    else if (c === 10) out += '\\n';
    else if (c === 12) out += '\\f';
    else if (c === 13) out += '\\r';
    else if (c < 0x20) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

// JavaScript compares strings by UTF-16 code units, which is exactly RFC 8785's key order.
const byCodeUnits = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** The canonical JSON text of a value within the restricted model (throws otherwise). */
export function canonical(value, depth = 0) {
  if (depth > DEPTH_MAX) throw new CanonicalError('too_deep', 'nested too deep');
  if (value === null || value === true || value === false) return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || !Number.isInteger(value)) throw new CanonicalError('float_not_allowed', `${value} is not an integer`);
    if (Object.is(value, -0)) throw new CanonicalError('negative_zero', '-0');
    if (!Number.isSafeInteger(value)) throw new CanonicalError('integer_out_of_range', `${value} is outside ±(2^53 − 1)`);
    return String(value);
  }
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new CanonicalError('invalid_unicode', 'lone surrogate');
    return encodeString(value);
  }
  if (Array.isArray(value)) return '[' + value.map((v) => canonical(v, depth + 1)).join(',') + ']';
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort(byCodeUnits);
    for (const k of keys) if (!k.isWellFormed()) throw new CanonicalError('invalid_unicode', 'lone surrogate in a key');
    return '{' + keys.map((k) => encodeString(k) + ':' + canonical(value[k], depth + 1)).join(',') + '}';
  }
  throw new CanonicalError('malformed_json', `${typeof value} is not JSON`);
}

/** UTF-8 bytes of the canonical encoding. */
export const canonicalBytes = (value) => new TextEncoder().encode(canonical(value));
