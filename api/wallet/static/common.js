// What the wallet and the till share: the pinned genesis, the key in IndexedDB, signing
// and submitting a record, QR scanning where the browser offers it.
import * as api from './api.js';
import { generateKey, openBackup, pairFromPkcs8, pemToDer, publicHex } from './crypto.js';
import { parseStrict } from './jcs.js';
import { decryptPem } from './pkcs8.js';
import { genesisHash } from './receipt.js';
import { makeBody, signBody } from './record.js';
import * as store from './store.js';

export const $ = (id) => document.getElementById(id);

/** The chain's genesis, pinned in IndexedDB on first use; a different one later is refused. */
export async function pinnedGenesis() {
  const served = await api.getJson('/v1/genesis');
  const hash = await genesisHash(served.genesis);
  if (hash !== served.hash) throw new Error('genesis_hash_mismatch');
  const pinned = await store.get('genesis');
  if (pinned && pinned.hash !== hash) throw new Error('genesis_changed');
  if (!pinned) await store.put('genesis', { hash, doc: served.genesis });
  return { hash, doc: served.genesis };
}

/** A key pair with its public hex, from IndexedDB under `slot`, or null. */
export async function loadKey(slot) {
  const pair = await store.get(slot);
  return pair ? { ...pair, pub: await publicHex(pair.publicKey) } : null;
}

export async function saveKey(slot, pair) {
  await store.put(slot, { privateKey: pair.privateKey, publicKey: pair.publicKey });
  return { ...pair, pub: await publicHex(pair.publicKey) };
}

export async function newKey(slot) {
  return saveKey(slot, await generateKey());
}

/** A key pair from a chosen file: a wallet backup (JSON), or a PKCS#8 PEM (encrypted with
 * a passphrase by `jifentong keys new`, or not). */
export async function keyFromFile(text, passphrase) {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return openBackup(parseStrict(trimmed), passphrase);
  if (trimmed.includes('BEGIN ENCRYPTED PRIVATE KEY')) {
    const der = await decryptPem(trimmed, passphrase);
    // a wrong passphrase passes CBC's padding check about once in 256 tries: the DER tells
    return pairFromPkcs8(der).catch(() => { throw new Error('wrong_passphrase'); });
  }
  return pairFromPkcs8(pemToDer(trimmed));
}

/** Sign a record of `type` with `key`, submit it, wait for its block: the node's answer. */
export async function signAndSubmit(genesis, key, type, payload) {
  const last = Math.max(await api.lastSeq(key.pub), key.seqUsed || 0);
  const body = makeBody(genesis, type, [key.pub], last + 1, payload);
  const { wire } = await signBody(body, [key.privateKey]);
  key.seqUsed = last + 1;
  return api.submit(wire);
}

/** Show a scan button when the browser has BarcodeDetector; the code read goes to `input`. */
export function scanner(button, input, onRead = () => {}) {
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.onclick = async () => {
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    const video = document.createElement('video');
    video.srcObject = stream;
    video.setAttribute('playsinline', '');
    video.className = 'scan';
    button.after(video);
    await video.play();
    const stop = () => { stream.getTracks().forEach((tr) => tr.stop()); video.remove(); };
    for (let tries = 0; tries < 600; tries++) {
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length) { input.value = codes[0].rawValue.trim(); stop(); onRead(); return; }
      await new Promise((r) => setTimeout(r, 100));
    }
    stop();
  };
}

export function registerWorker() {
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/wallet/sw.js', { scope: '/' }).catch(() => {});
}

export function problemText(err) {
  return err?.code || err?.message || String(err);
}
