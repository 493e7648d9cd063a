// Encrypted PKCS#8 PEM ("BEGIN ENCRYPTED PRIVATE KEY"), as `jifentong keys new` writes it with
// a passphrase (pyca/cryptography's best available scheme): PBES2 with PBKDF2-HMAC-SHA-256
// and AES-256-CBC. Decrypted with WebCrypto, in the browser; any other scheme is refused.
import { hex, unb64, utf8 } from './crypto.js';

const OID = {
  pbes2: '2a864886f70d01050d', pbkdf2: '2a864886f70d01050c',
  hmacSha256: '2a864886f70d0209', aes256cbc: '60864801650304012a',
};
/** The most PBKDF2 iterations a key file may ask for (a bound on the work it can cause). */
export const PEM_ITERATIONS_MAX = 10000000;

class Der {
  constructor(bytes, at = 0, end = bytes.length) { this.bytes = bytes; this.at = at; this.end = end; }

  /** The next element, which must have `tag`: a reader over its content. */
  take(tag) {
    const b = this.bytes;
    if (this.at + 2 > this.end || b[this.at] !== tag) throw new Error('unsupported_key_file');
    let length = b[this.at + 1], at = this.at + 2;
    if (length & 0x80) {
      const n = length & 0x7f;
      if (n < 1 || n > 2) throw new Error('unsupported_key_file');
      length = 0;
      for (let i = 0; i < n; i++) length = (length << 8) | b[at + i];
      at += n;
    }
    if (at + length > this.end) throw new Error('unsupported_key_file');
    this.at = at + length;
    return new Der(b, at, at + length);
  }

  get content() { return this.bytes.slice(this.at, this.end); }
  get done() { return this.at >= this.end; }
}

const SEQ = 0x30, OCTETS = 0x04, INT = 0x02, OBJ = 0x06;

function expectOid(reader, oid) {
  if (hex(reader.take(OBJ).content) !== oid) throw new Error('unsupported_key_file');
}

/** The PKCS#8 DER inside an encrypted PEM; throws 'wrong_passphrase' when it will not open. */
export async function decryptPem(pem, passphrase) {
  const m = /-----BEGIN ENCRYPTED PRIVATE KEY-----([\s\S]+?)-----END ENCRYPTED PRIVATE KEY-----/.exec(pem);
  if (!m) throw new Error('not_a_key');
  const top = new Der(unb64(m[1].replace(/\s+/g, ''))).take(SEQ);
  const algorithm = top.take(SEQ);
  expectOid(algorithm, OID.pbes2);
  const params = algorithm.take(SEQ);
  const kdf = params.take(SEQ);
  expectOid(kdf, OID.pbkdf2);
  const kdfParams = kdf.take(SEQ);
  const salt = kdfParams.take(OCTETS).content;
  const iterations = [...kdfParams.take(INT).content].reduce((n, b) => n * 256 + b, 0);
  if (!(iterations >= 1 && iterations <= PEM_ITERATIONS_MAX)) throw new Error('unsupported_key_file');
  if (!kdfParams.done && kdfParams.bytes[kdfParams.at] === INT) kdfParams.take(INT); // key length
  if (kdfParams.done) throw new Error('unsupported_key_file'); // the default PRF is SHA-1
  expectOid(kdfParams.take(SEQ), OID.hmacSha256);
  const cipher = params.take(SEQ);
  expectOid(cipher, OID.aes256cbc);
  const iv = cipher.take(OCTETS).content;
  const sealed = top.take(OCTETS).content;
  const base = await crypto.subtle.importKey('raw', utf8(passphrase), 'PBKDF2', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base,
    { name: 'AES-CBC', length: 256 }, false, ['decrypt']);
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv }, key, sealed));
  } catch {
    throw new Error('wrong_passphrase');
  }
}
