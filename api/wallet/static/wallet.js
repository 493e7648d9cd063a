// 张三's wallet: his key lives in this browser; he sees points and offers, swaps at a live
// quote, pays a till's order code and checks receipts against the genesis pinned here.
import * as api from './api.js';
import { $, keyFromFile, loadKey, newKey, pinnedGenesis, problemText, registerWorker, saveKey, scanner, signAndSubmit } from './common.js';
import { makeBackup } from './crypto.js';
import { apply, t, when, yuan } from './i18n.js';
import { parseStrict } from './jcs.js';
import { checkReceipt } from './receipt.js';

const SLOT = 'wallet-key';
const SECTIONS = ['tabs', 'points', 'offers', 'swap', 'redeem', 'history-s', 'receive', 'backup'];
const state = { genesis: null, key: null, programs: [], holdings: [], offer: null, quote: null, pending: 0 };

const say = (text) => { $('status').textContent = text; };
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node[k] = v;
  node.append(...children);
  return node;
};
const name = (code) => state.programs.find((p) => p.code === code)?.name || code.toUpperCase();
const label = (code) => code.toUpperCase();

async function start() {
  registerWorker();
  apply($('lang'), render);
  state.genesis = await pinnedGenesis();
  $('genesis-hash').textContent = state.genesis.hash;
  state.key = await loadKey(SLOT);
  $('create').onclick = async () => { await ready(await newKey(SLOT)); say(t('created')); };
  $('restore').onclick = restore;
  $('swap-go').onclick = swap;
  $('redeem-go').onclick = redeem;
  $('receipt-check').onclick = () => check($('receipt-text').value);
  $('copy-key').onclick = async () => { await navigator.clipboard?.writeText(state.key.pub).catch(() => {}); say(t('copied')); };
  $('backup-go').onclick = backup;
  for (const id of ['swap-give', 'swap-amount', 'swap-get']) $(id).addEventListener('input', requote);
  $('area').addEventListener('change', () => { localStorage.setItem('jifentong.area', $('area').value); refresh(); });
  scanner($('scan-order'), $('order'));
  if (state.key) await ready(state.key); else $('setup').hidden = false;
}

async function ready(key) {
  state.key = key;
  $('setup').hidden = true;
  for (const id of SECTIONS) $(id).hidden = false;
  $('my-key').textContent = key.pub;
  $('qr').src = `/wallet/qr.svg?data=${key.pub}`;
  $('qr').alt = key.pub;
  api.follow({ account: key.pub }, () => refresh());
  await refresh();
}

async function restore() {
  const file = $('restore-file').files[0];
  if (!file) return;
  try {
    await ready(await saveKey(SLOT, await keyFromFile(await file.text(), $('restore-pass').value)));
    say(t('restored'));
  } catch (err) {
    say(t(problemText(err)));
  }
}

async function refresh() {
  const pub = state.key.pub;
  const area = localStorage.getItem('jifentong.area') || '';
  const [programs, balances, offers, history, merchants] = await Promise.all([
    api.getJson('/v1/programs'), api.getJson(`/v1/accounts/${pub}/balances`),
    api.getJson(`/v1/accounts/${pub}/offers`, { area }), api.getJson(`/v1/accounts/${pub}/history`, { limit: 20 }),
    api.getJson('/v1/merchants', { status: 'active' })]);
  state.area = area;
  state.areas = [...new Set(merchants.merchants.map((m) => m.area).filter(Boolean))].sort();
  state.programs = programs.programs;
  state.holdings = balances.holdings;
  state.balances = balances;
  state.offers = offers.offers;
  state.history = history.items;
  render();
}

function render() {
  if (!state.balances) return;
  const { holdings } = state;
  $('total').textContent = yuan(state.balances.value_micro);
  $('pending').hidden = state.pending === 0;
  $('pending').textContent = t('pending', { n: state.pending });
  $('holdings').replaceChildren(...(holdings.length ? holdings.map((h) => el('li', { className: 'card' },
    el('h3', {}, `${h.name} · ${label(h.program)}`),
    el('p', { className: 'big' }, t('points', { n: h.balance.toLocaleString() })),
    el('p', {}, t('worth', { v: yuan(h.value_micro) })),
    ...(h.expiring_soon ? [el('p', { className: 'warn', role: 'note' }, t('expiring', { n: h.expiring_soon, d: when(h.lots[0].expires_ms) }))] : []),
  )) : [el('li', {}, t('no_points'))]));
  $('area').replaceChildren(el('option', { value: '' }, t('area_any')), ...state.areas.map((a) => el('option', { value: a }, a)));
  $('area').value = state.areas.includes(state.area) ? state.area : '';
  $('offer-list').replaceChildren(...(state.offers.length ? state.offers.map(offerCard) : [el('li', {}, t('no_offers'))]));
  fill($('swap-give'), holdings.map((h) => h.program));
  fill($('swap-get'), state.programs.map((p) => p.code));
  fill($('redeem-program'), holdings.map((h) => h.program));
  $('history').replaceChildren(...state.history.map((item) => el('li', {},
    el('span', {}, `${t('kind_' + item.kind)} ${item.delta > 0 ? '+' : ''}${item.delta.toLocaleString()} ${label(item.program)}`),
    el('span', { className: 'muted' }, ` #${item.height}`),
    ...(item.record ? [el('button', { type: 'button', className: 'link', textContent: t('check_this'), ariaLabel: `${t('check_this')} #${item.height}.${item.idx}`, onclick: () => receipt(item.record) })] : []))));
}

function fill(select, codes) {
  const keep = select.value;
  select.replaceChildren(...codes.map((c) => el('option', { value: c }, `${label(c)} ${name(c)}`)));
  if (codes.includes(keep)) select.value = keep;
}

function offerCard(o) {
  const how = o.pay === 'direct'
    ? t('pay_direct', { n: o.price.toLocaleString(), p: label(o.program) })
    : t('pay_swap', { a: o.swap.amount.toLocaleString(), g: label(o.swap.give), o: o.swap.out.toLocaleString(), p: label(o.program) });
  return el('li', { className: 'card' },
    el('h3', {}, o.item),
    el('p', {}, `${name(o.program)} · ${o.area || ''} · ${o.price.toLocaleString()} ${label(o.program)} (${yuan(o.value_micro)})`),
    el('p', { className: 'muted' }, how),
    el('button', { type: 'button', className: 'primary', textContent: t('use_offer'), onclick: () => useOffer(o) }));
}

function useOffer(o) {
  state.offer = o;
  if (o.pay === 'after_swap') {
    $('swap-give').value = o.swap.give;
    $('swap-amount').value = o.swap.amount;
    $('swap-get').value = o.swap.get;
    location.hash = '#swap';
    requote();
  } else {
    prefillRedeem(o);
  }
}

function prefillRedeem(o) {
  $('redeem-program').value = o.program;
  $('redeem-amount').value = o.price;
  location.hash = '#redeem';
  $('order').focus();
}

let quoting = 0;
async function requote() {
  const ask = ++quoting;
  const give = $('swap-give').value, get = $('swap-get').value, amount = Number($('swap-amount').value);
  $('swap-go').disabled = true;
  state.quote = null;
  if (!give || !get || !Number.isSafeInteger(amount) || amount < 1 || give === get) { $('quote').replaceChildren(); return; }
  const q = await api.getJson('/v1/quote', { give, amount, get, holder: state.key.pub }).catch((e) => ({ code: problemText(e) }));
  if (ask !== quoting) return;
  if (q.code !== 'ok') { $('quote').replaceChildren(el('p', { className: 'warn' }, t('quote_refused', { c: q.code }))); return; }
  state.quote = q;
  $('quote').replaceChildren(
    el('p', { className: 'big' }, t('quote_ok', { a: q.taken.toLocaleString(), g: label(give), o: q.out.toLocaleString(), p: label(get) })),
    el('p', {}, t('rates', { g: label(give), gv: q.give_version, gr: q.give_rate, p: label(get), pv: q.get_version, pr: q.get_rate })),
    ...(q.bonus_bp ? [el('p', { className: 'promo' }, t('promo', { b: q.bonus_bp / 100, n: q.bonus.toLocaleString(), t: when(q.promotion_end_ms) }))] : []),
    el('p', { className: 'muted' }, q.lapses_ms ? t('lapses', { t: when(q.lapses_ms) }) : t('lapses_none')));
  $('swap-go').disabled = false;
}

async function act(type, payload, done) {
  say(t('working'));
  state.pending += 1;
  render();
  try {
    const answer = await signAndSubmit(state.genesis.doc, state.key, type, payload).finally(() => { state.pending -= 1; });
    $('result').hidden = false;
    $('result-text').textContent = done(answer);
    say(done(answer));
    if (answer.receipt) await showReceipt(answer.receipt);
    await refresh();
    return answer;
  } catch (err) {
    say(t('refused', { c: `${t(problemText(err))} (${problemText(err)})` }));
    return null;
  }
}

async function swap() {
  const q = state.quote;
  if (!q) return;
  const answer = await act('exchange.swap', { give: q.give, amount: q.taken, get: q.get, min_out: q.out,
    give_version: q.give_version, get_version: q.get_version },
  (a) => t('swapped', { a: q.taken.toLocaleString(), g: label(q.give), o: q.out.toLocaleString(), p: label(q.get), h: a.height }));
  if (answer && state.offer && state.offer.program === q.get) prefillRedeem(state.offer);
}

async function redeem() {
  const order = $('order').value.trim(), program = $('redeem-program').value, amount = Number($('redeem-amount').value);
  if (!order || !program || !Number.isSafeInteger(amount) || amount < 1) return;
  await act('exchange.redeem', { program, amount, order },
    (a) => t('redeemed', { n: amount.toLocaleString(), p: label(program), o: order, h: a.height }));
  state.offer = null;
}

async function receipt(recordId) {
  await showReceipt(await api.getJson(`/v1/records/${recordId}/receipt`));
}

async function showReceipt(r) {
  $('receipt-text').value = JSON.stringify(r, null, 1);
  await check($('receipt-text').value);
}

async function check(text) {
  const verdict = $('receipt-verdict');
  try {
    const ok = await checkReceipt(parseStrict(text, 64), state.genesis.doc);
    verdict.className = 'verdict ok';
    verdict.textContent = t('receipt_ok', { h: ok.height, v: ok.votes, n: ok.of });
  } catch (err) {
    verdict.className = 'verdict bad';
    verdict.textContent = t('receipt_bad', { c: `${t(problemText(err))} (${problemText(err)})` });
  }
}

async function backup() {
  const pass = $('backup-pass').value;
  if (pass.length < 8) { say(t('backup_short')); return; }
  const file = await makeBackup(state.key, pass, 'wallet');
  const link = el('a', { href: URL.createObjectURL(new Blob([JSON.stringify(file, null, 2)], { type: 'application/json' })),
    download: `jifentong-wallet-${state.key.pub.slice(0, 8)}.json` });
  document.body.append(link);
  link.click();
  link.remove();
}

start().catch((err) => say(t('refused', { c: problemText(err) })));
