// The shop's till: loads the merchant's key from its file (passphrase typed here), issues
// points for purchases, shows order codes and follows redemptions and swaps live.
import * as api from './api.js';
import { $, keyFromFile, pinnedGenesis, problemText, registerWorker, scanner, signAndSubmit } from './common.js';
import { publicHex } from './crypto.js';
import { apply, t, when } from './i18n.js';

const state = { genesis: null, key: null, merchant: null, programs: [], feed: [], sums: { issue: 0, redeem: 0, swap_in: 0 } };
const say = (text) => { $('status').textContent = text; };
const label = (code) => code.toUpperCase();

async function start() {
  registerWorker();
  apply($('lang'), render);
  state.genesis = await pinnedGenesis();
  $('key-load').onclick = load;
  $('issue-go').onclick = issue;
  $('order-new').onclick = newOrder;
  for (const id of ['spend', 'earn', 'issue-program']) $(id).addEventListener('input', preview);
  scanner($('scan-customer'), $('customer'), preview);
}

async function load() {
  const file = $('key-file').files[0];
  if (!file) return;
  try {
    const pair = await keyFromFile(await file.text(), $('key-pass').value);
    const pub = await publicHex(pair.publicKey);
    const merchants = (await api.getJson('/v1/merchants')).merchants;
    const merchant = merchants.find((m) => m.key === pub);
    if (!merchant) { say(t('not_merchant')); return; }
    state.key = { ...pair, pub };
    state.merchant = merchant;
    state.programs = (await api.getJson('/v1/programs', { issuer: merchant.id })).programs;
    $('load').hidden = true;
    $('desk').hidden = false;
    $('issue-program').replaceChildren(...state.programs.map((p) => Object.assign(document.createElement('option'), { value: p.code, textContent: `${label(p.code)} ${p.name}` })));
    newOrder();
    follow();
    render();
  } catch (err) {
    say(t(problemText(err)));
  }
}

/** Points for a purchase: fen × rate × percent / 10,000, in integers (rounded down). */
export function pointsFor(spendText, rate, percent) {
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(spendText.trim());
  if (!m || !Number.isSafeInteger(percent) || percent < 1 || percent > 100) return 0;
  const fen = Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
  return Math.floor((fen * rate * percent) / 10000);
}

function preview() {
  const program = state.programs.find((p) => p.code === $('issue-program').value);
  const n = program ? pointsFor($('spend').value, program.rate, Number($('earn').value)) : 0;
  $('issue-preview').textContent = n ? t('issue_preview', { n: n.toLocaleString(), p: label(program.code) }) : '';
  return n;
}

async function issue() {
  const to = $('customer').value.trim().toLowerCase(), program = $('issue-program').value, amount = preview();
  if (!/^[0-9a-f]{64}$/.test(to) || !amount) return;
  try {
    const answer = await signAndSubmit(state.genesis.doc, state.key, 'exchange.issue',
      { program, to, amount, ref: `¥${$('spend').value.trim()}` });
    say(t('issued', { n: amount.toLocaleString(), p: label(program), c: `${to.slice(0, 8)}…`, h: answer.height }));
    $('customer').value = '';
    $('spend').value = '';
    preview();
  } catch (err) {
    say(t('refused', { c: problemText(err) }));
  }
}

function newOrder() {
  const digits = crypto.getRandomValues(new Uint32Array(1))[0] % 1000000;
  const code = `${state.merchant.id.slice(0, 2).toUpperCase()}-${String(digits).padStart(6, '0')}`;
  $('order-code').textContent = code;
  $('order-qr').src = `/wallet/qr.svg?data=${encodeURIComponent(code)}`;
  $('order-qr').alt = code;
}

function follow() {
  const own = new Set(state.programs.map((p) => p.code));
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  api.follow({ merchant: state.merchant.id, since_ms: midnight.getTime() }, (event) => {
    for (const e of event.effects) {
      if (!own.has(e.program)) continue;
      const kind = e.kind === 'bonus' ? 'swap_in' : e.kind;
      if (!['issue', 'redeem', 'swap_in'].includes(kind)) continue;
      if (event.time_ms >= midnight.getTime()) state.sums[kind] += Math.abs(e.delta);
      if (e.kind === 'bonus') continue;
      state.feed.unshift({ kind, n: Math.abs(e.delta), p: e.program, o: event.payload.order, g: event.payload.give, time: event.time_ms, height: event.height });
    }
    state.feed.length = Math.min(state.feed.length, 50);
    render();
  });
}

function render() {
  if (!state.merchant) return;
  $('merchant').textContent = t('merchant_is', { m: state.merchant.name });
  $('sum-issued').textContent = state.sums.issue.toLocaleString();
  $('sum-redeemed').textContent = state.sums.redeem.toLocaleString();
  $('sum-swapped').textContent = state.sums.swap_in.toLocaleString();
  $('feed').replaceChildren(...(state.feed.length ? state.feed.map((f) => {
    const li = document.createElement('li');
    li.className = `feed-${f.kind}`;
    li.textContent = `${when(f.time)} · ${t('feed_' + (f.kind === 'swap_in' ? 'swap' : f.kind), { n: f.n.toLocaleString(), p: label(f.p), o: f.o, g: f.g ? label(f.g) : '' })}`;
    return li;
  }) : [Object.assign(document.createElement('li'), { textContent: t('feed_empty') })]));
}

start().catch((err) => say(t('refused', { c: problemText(err) })));
