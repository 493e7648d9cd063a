// Record bodies, ids and signatures exactly as docs/PROTOCOL.md §5 defines them, so that a
// record signed here is byte for byte the one Python's ledger.record.sign_body makes.
import { canonical } from './jcs.js';
import { domainHash, hex, sign, utf8 } from './crypto.js';

export const DOMAIN_RECORD = 0x10;
/** How long a signed record stays acceptable when the chain has an expiry rule. */
export const RECORD_TTL_MS_DEFAULT = 10 * 60 * 1000;

/** The chain's longest record lifetime, or null when its genesis has no such rule. */
export function recordTtlMax(genesis) {
  const found = genesis?.params?.record_ttl_ms_max ?? genesis?.app?.params?.record_ttl_ms_max;
  return Number.isSafeInteger(found) && found > 0 ? found : null;
}

/**
 * A record body for `genesis`. `expires` (Unix ms) is present exactly when the genesis
 * names `record_ttl_ms_max`: now + the default lifetime, never beyond that maximum.
 */
export function makeBody(genesis, type, signers, seq, payload, nowMs = Date.now()) {
  const body = { chain: genesis.chain, type, signers: [...signers], seq, payload };
  const ttlMax = recordTtlMax(genesis);
  if (ttlMax !== null) body.expires = nowMs + Math.min(RECORD_TTL_MS_DEFAULT, ttlMax);
  return body;
}

/** The 32 id bytes: SHA-256(0x10 ‖ canonical(body)). */
export const recordId = (body) => domainHash(DOMAIN_RECORD, utf8(canonical(body)));

/** The canonical wire text {"body":…,"signatures":[…]} signed by one key per signer. */
export async function signBody(body, privateKeys) {
  const id = await recordId(body);
  const sigs = [];
  for (const key of privateKeys) sigs.push(hex(await sign(key, id)));
  return { id: hex(id), wire: canonical({ body, signatures: sigs }) };
}
