// Checking a receipt in the browser (docs/PROTOCOL.md §7, §10-12, §16): the record's
// signatures, its RFC 9162 inclusion proof under the header's root, the validator set
// against the header, the commit certificate, and every validator against the genesis
// this wallet pinned on first use.
import { canonical } from './jcs.js';
import { concat, domainHash, hex, unhex, utf8, verify } from './crypto.js';
import { recordId } from './record.js';

const LEAF = 0x00, NODE = 0x01, HEADER = 0x11, VALIDATORS = 0x13, GENESIS = 0x15;

export const genesisHash = async (doc) => hex(await domainHash(GENESIS, utf8(canonical(doc))));

/** RFC 9162 §2.1.3.2: does `proof` lead from `leaf` at `index` to `root`? */
export async function verifyInclusion(index, size, leaf, proof, root) {
  if (!(index >= 0 && index < size)) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await domainHash(NODE, concat(p, r));
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await domainHash(NODE, concat(r, p));
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && hex(r) === hex(root);
}

const quorum = (n) => Math.floor((n * 2) / 3) + 1;

class Refused extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

/**
 * Check a receipt alone against the pinned genesis; returns what it proves or throws
 * an Error whose `code` names the first check that failed.
 */
export async function checkReceipt(receipt, pinnedGenesis) {
  const rec = receipt?.record, header = receipt?.header, cert = receipt?.certificate;
  if (receipt?.version !== 1 || !rec || !header || !cert) throw new Refused('receipt_malformed', 'not a receipt');
  const id = await recordId(rec.body);
  const signers = rec.body.signers;
  if (!Array.isArray(rec.signatures) || rec.signatures.length !== signers.length) throw new Refused('bad_signature', 'one signature per signer');
  for (let i = 0; i < signers.length; i++) {
    if (!(await verify(signers[i], unhex(rec.signatures[i]), id))) throw new Refused('bad_signature', `signature ${i} does not verify`);
  }
  if (rec.body.chain !== header.chain || header.chain !== pinnedGenesis.chain) throw new Refused('receipt_chain_mismatch', 'another chain');
  if (receipt.tree_size !== header.records) throw new Refused('receipt_size_mismatch', 'tree size differs from the header');
  const leaf = await domainHash(LEAF, id);
  const proof = receipt.inclusion_proof.map(unhex);
  if (!(await verifyInclusion(receipt.index, receipt.tree_size, leaf, proof, unhex(header.root)))) {
    throw new Refused('inclusion_proof_invalid', 'the record is not under the block root');
  }
  const validators = receipt.validators.map((v) => ({ key: v.key, name: v.name })).sort((a, b) => (a.key < b.key ? -1 : 1));
  if (hex(await domainHash(VALIDATORS, utf8(canonical(validators)))) !== header.validators) {
    throw new Refused('receipt_validators_mismatch', 'validator set differs from the header');
  }
  const trusted = new Set(pinnedGenesis.validators.map((v) => v.key));
  const stranger = validators.find((v) => !trusted.has(v.key));
  if (stranger) throw new Refused('receipt_untrusted_validator', `validator ${stranger.key.slice(0, 16)}… is not in the pinned genesis`);
  const headerHash = await domainHash(HEADER, utf8(canonical(header)));
  if (cert.height !== header.height || cert.header !== hex(headerHash)) throw new Refused('certificate_wrong_header', 'certificate is for another header');
  const members = new Set(validators.map((v) => v.key));
  const good = new Set();
  for (const vote of cert.signatures) {
    if (members.has(vote.validator) && !good.has(vote.validator) && (await verify(vote.validator, unhex(vote.sig), headerHash))) good.add(vote.validator);
  }
  if (good.size < quorum(validators.length)) throw new Refused('certificate_below_quorum', `${good.size} of ${validators.length} validators signed`);
  return { id: hex(id), type: rec.body.type, height: header.height, index: receipt.index, headerHash: hex(headerHash), votes: good.size, of: validators.length };
}

