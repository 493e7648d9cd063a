// Bytes, SHA-256 and Ed25519 through WebCrypto; the passphrase-encrypted backup file.
// A private key exists only as a CryptoKey in this browser (IndexedDB) or inside an
// encrypted backup: nothing here ever sends one anywhere.

export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
export function unhex(text) {
  if (!/^([0-9a-f]{2})*$/.test(text)) throw new Error('not lowercase hex');
  return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
}
export const utf8 = (text) => new TextEncoder().encode(text);
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
export const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
/** H(prefix ‖ bytes): the protocol's domain-separated hash (docs/PROTOCOL.md §3). */
export const domainHash = (prefix, bytes) => sha256(concat(Uint8Array.of(prefix), bytes));
export const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
export const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

const ED = { name: 'Ed25519' };

/** A new extractable key pair (extractable only so that it can be backed up, encrypted). */
export const generateKey = () => crypto.subtle.generateKey(ED, true, ['sign', 'verify']);

export async function publicHex(publicKey) {
  return hex(new Uint8Array(await crypto.subtle.exportKey('raw', publicKey)));
}

export async function sign(privateKey, message) {
  return new Uint8Array(await crypto.subtle.sign(ED, privateKey, message));
}

export async function verify(publicKeyHex, signature, message) {
  try {
    const key = await crypto.subtle.importKey('raw', unhex(publicKeyHex), ED, false, ['verify']);
    return await crypto.subtle.verify(ED, key, signature, message);
  } catch {
    return false;
  }
}

/** The key pair held in PKCS#8 bytes (the public half is derived through a JWK). */
export async function pairFromPkcs8(der) {
  const privateKey = await crypto.subtle.importKey('pkcs8', der, ED, true, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', privateKey);
  const publicKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, ED, true, ['verify']);
  return { privateKey, publicKey };
}

/** The DER of an unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"), as the demo's key files are. */
export function pemToDer(pem) {
  const m = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) throw new Error('not_a_key');
  return unb64(m[1].replace(/\s+/g, ''));
}

// -- the backup file: docs/WALLET.md "Backup format" --------------------------------------
export const BACKUP_FORMAT = 'jifentong-wallet-backup';
export const BACKUP_ITERATIONS = 600000;

async function backupKey(passphrase, salt, iterations) {
  const base = await crypto.subtle.importKey('raw', utf8(passphrase.normalize('NFC')), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base,
    { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** The backup JSON of a key pair: PKCS#8 encrypted with AES-256-GCM under PBKDF2-SHA-256. */
export async function makeBackup(pair, passphrase, label = '') {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const pub = await publicHex(pair.publicKey);
  const key = await backupKey(passphrase, salt, BACKUP_ITERATIONS);
  const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(pub) }, key, der));
  der.fill(0);
  return { format: BACKUP_FORMAT, version: 1, label, public_key: pub,
    kdf: { name: 'PBKDF2-SHA-256', iterations: BACKUP_ITERATIONS, salt: b64(salt) },
    cipher: { name: 'AES-256-GCM', iv: b64(iv) }, ciphertext: b64(sealed) };
}

/** The key pair of a backup; throws 'wrong_passphrase' when it does not open. */
export async function openBackup(backup, passphrase) {
  if (backup.format !== BACKUP_FORMAT || backup.version !== 1) throw new Error('not_a_backup');
  const key = await backupKey(passphrase, unb64(backup.kdf.salt), backup.kdf.iterations);
  let der;
  try {
    der = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(backup.cipher.iv), additionalData: utf8(backup.public_key) },
      key, unb64(backup.ciphertext));
  } catch {
    throw new Error('wrong_passphrase');
  }
  const pair = await pairFromPkcs8(der);
  if (await publicHex(pair.publicKey) !== backup.public_key) throw new Error('not_a_backup');
  return pair;
}
