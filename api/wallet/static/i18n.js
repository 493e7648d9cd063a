// Chinese by default, English on request (remembered in localStorage). Elements carry
// data-t="key"; scripts call t('key', values).
const zh = {
  wallet_title: '积分通钱包', till_title: '积分通收银台', setup_h: '开始使用',
  setup_p: '钥匙只在这部手机的浏览器里生成和保存，节点永远看不到它。', create: '创建我的钥匙',
  restore_h: '从备份恢复或导入钥匙文件', restore_file: '备份文件或钥匙文件 (.json / .pem)',
  passphrase: '口令', restore: '恢复', tab_points: '积分', tab_offers: '优惠', tab_swap: '兑换',
  tab_redeem: '消费', tab_receive: '收款', points_h: '我的积分', total_value: '总价值',
  offers_h: '我能用积分买的', area: '我在哪儿（附近的优先）', area_any: '不限', swap_h: '兑换积分', give: '付出', amount: '数量', get: '换成',
  swap_go: '按此报价兑换', redeem_h: '用积分消费', order: '订单码（扫码或输入）', scan: '扫码',
  program: '积分', redeem_go: '消费', result_h: '完成', history_h: '记录与凭证', check_h: '核对凭证',
  receipt_paste: '粘贴凭证 (JSON)', check: '核对', pinned: '已固定的创世哈希',
  receive_h: '我的收款码', copy: '复制', backup_h: '备份钥匙',
  backup_p: '备份文件用你的口令加密；没有口令谁也打不开。', backup_go: '下载加密备份',
  points: '{n} 分', worth: '价值 {v}', expiring: '⚠ {n} 分将在 {d} 前过期', pending: '处理中：{n} 条记录',
  no_points: '还没有积分。让收银员扫描你的收款码。', no_offers: '暂时没有你能用的优惠。',
  pay_direct: '直接用 {n} {p} 支付', pay_swap: '先兑换 {a} {g} → {o} {p}，再支付',
  use_offer: '用这个优惠', quote_ok: '{a} {g} → {o} {p}', rates: '牌价 {g} 版本{gv}：{gr} 分/元 · {p} 版本{pv}：{pr} 分/元',
  promo: '活动加赠 {b}%（{n} 分），至 {t}', lapses: '报价有效至 {t}', lapses_none: '目前没有待生效的牌价变更',
  quote_refused: '不能兑换：{c}', swapped: '已兑换：付出 {a} {g}，得到 {o} {p}（区块 {h}）',
  redeemed: '已消费 {n} {p}，订单 {o}（区块 {h}）', receipt_ok: '✓ 凭证有效：区块 {h}，{v}/{n} 个验证者签名',
  receipt_bad: '✗ 凭证无效：{c}', working: '正在签名并提交…', created: '钥匙已创建。',
  restored: '钥匙已恢复。', copied: '已复制', wrong_passphrase: '口令不对', not_a_backup: '不是备份或钥匙文件', not_a_key: '不是钥匙文件',
  unsupported_key_file: '不支持这种钥匙文件的加密方式；用 jifentong keys export-wallet 转换', backup_short: '口令至少 8 个字符',
  refused: '被拒绝：{c}', check_this: '核对', kind_issue: '获得', kind_redeem: '消费', kind_swap_in: '兑入',
  kind_swap_out: '兑出', kind_bonus: '加赠', kind_expire: '过期', kind_transfer_in: '转入', kind_transfer_out: '转出',
  load_h: '载入商户钥匙', key_file: '钥匙文件 (.pem 或备份 .json)', load: '载入', issue_h: '消费送积分',
  customer: '顾客收款码（扫码或粘贴）', spend: '消费金额（元）', earn: '返还比例 %', issue_go: '发放积分',
  issue_preview: '将发放 {n} {p}', issued: '已发放 {n} {p} 给 {c}（区块 {h}）', order_h: '收款订单码',
  new_order: '生成新订单码', feed_h: '实时流水', today_h: '今日合计', t_issued: '发放', t_redeemed: '消费',
  t_swapped_in: '兑入', merchant_is: '商户：{m}', not_merchant: '这把钥匙不属于任何商户', feed_empty: '等待交易…',
  feed_redeem: '{n} {p} 消费 · 订单 {o}',
  bad_signature: '签名不符（内容被改动过）', inclusion_proof_invalid: '不在区块里', receipt_untrusted_validator: '验证者不是创世文件里的',
  certificate_below_quorum: '验证者签名不足', receipt_validators_mismatch: '验证者集合不符', certificate_wrong_header: '证书不属于这个区块',
  receipt_malformed: '不是凭证', malformed_json: '不是 JSON', insufficient_balance: '积分不够', feed_swap: '{n} {p} 兑入（来自 {g}）', feed_issue: '{n} {p} 发放',
};
const en = {
  wallet_title: 'Jifentong wallet', till_title: 'Jifentong till', setup_h: 'Get started',
  setup_p: 'Your key is made and kept in this phone\'s browser only; the node never sees it.', create: 'Create my key',
  restore_h: 'Restore a backup or import a key file', restore_file: 'Backup or key file (.json / .pem)',
  passphrase: 'Passphrase', restore: 'Restore', tab_points: 'Points', tab_offers: 'Offers', tab_swap: 'Swap',
  tab_redeem: 'Pay', tab_receive: 'Receive', points_h: 'My points', total_value: 'Total value',
  offers_h: 'Offers I can pay for', area: 'Where I am (nearby first)', area_any: 'Anywhere', swap_h: 'Swap points', give: 'Give', amount: 'Amount', get: 'Get',
  swap_go: 'Swap at this quote', redeem_h: 'Pay with points', order: 'Order code (scan or type)', scan: 'Scan',
  program: 'Points', redeem_go: 'Pay', result_h: 'Done', history_h: 'History and receipts', check_h: 'Check a receipt',
  receipt_paste: 'Paste a receipt (JSON)', check: 'Check', pinned: 'Pinned genesis hash',
  receive_h: 'My receive code', copy: 'Copy', backup_h: 'Back up my key',
  backup_p: 'The backup file is encrypted with your passphrase; without it nobody can open it.', backup_go: 'Download encrypted backup',
  points: '{n} points', worth: 'worth {v}', expiring: '⚠ {n} points expire before {d}', pending: 'Pending: {n} records',
  no_points: 'No points yet. Let the till scan your receive code.', no_offers: 'No offers you can pay for right now.',
  pay_direct: 'Pay {n} {p} directly', pay_swap: 'Swap {a} {g} → {o} {p} first, then pay',
  use_offer: 'Use this offer', quote_ok: '{a} {g} → {o} {p}', rates: 'Rates {g} v{gv}: {gr} pts/¥ · {p} v{pv}: {pr} pts/¥',
  promo: 'Promotion bonus {b}% ({n} points), until {t}', lapses: 'Quote valid until {t}', lapses_none: 'No posted rate change pending',
  quote_refused: 'Cannot swap: {c}', swapped: 'Swapped: gave {a} {g}, got {o} {p} (block {h})',
  redeemed: 'Paid {n} {p} for order {o} (block {h})', receipt_ok: '✓ Receipt valid: block {h}, signed by {v} of {n} validators',
  receipt_bad: '✗ Receipt invalid: {c}', working: 'Signing and submitting…', created: 'Your key is ready.',
  restored: 'Key restored.', copied: 'Copied', wrong_passphrase: 'Wrong passphrase', not_a_backup: 'Not a backup or key file', not_a_key: 'Not a key file',
  unsupported_key_file: 'This key file\'s encryption is not supported; convert it with jifentong keys export-wallet', backup_short: 'Use at least 8 characters',
  refused: 'Refused: {c}', check_this: 'Check', kind_issue: 'earned', kind_redeem: 'spent', kind_swap_in: 'swapped in',
  kind_swap_out: 'swapped out', kind_bonus: 'bonus', kind_expire: 'expired', kind_transfer_in: 'received', kind_transfer_out: 'gave',
  load_h: 'Load the merchant key', key_file: 'Key file (.pem or backup .json)', load: 'Load', issue_h: 'Points for a purchase',
  customer: 'Customer code (scan or paste)', spend: 'Amount spent (yuan)', earn: 'Points back %', issue_go: 'Issue points',
  issue_preview: 'Will issue {n} {p}', issued: 'Issued {n} {p} to {c} (block {h})', order_h: 'Order code',
  new_order: 'New order code', feed_h: 'Live feed', today_h: 'Today', t_issued: 'Issued', t_redeemed: 'Redeemed',
  t_swapped_in: 'Swapped in', merchant_is: 'Merchant: {m}', not_merchant: 'This key belongs to no merchant', feed_empty: 'Waiting for activity…',
  feed_redeem: '{n} {p} redeemed · order {o}',
  bad_signature: 'signature does not match (the content was changed)', inclusion_proof_invalid: 'not in the block', receipt_untrusted_validator: 'a validator not in the genesis',
  certificate_below_quorum: 'too few validator signatures', receipt_validators_mismatch: 'validator set differs', certificate_wrong_header: 'certificate is for another block',
  receipt_malformed: 'not a receipt', malformed_json: 'not JSON', insufficient_balance: 'not enough points', feed_swap: '{n} {p} swapped in (from {g})', feed_issue: '{n} {p} issued',
};
const TABLES = { zh, en };
export let lang = localStorage.getItem('jifentong.lang') === 'en' ? 'en' : 'zh';

export function t(key, values = {}) {
  const text = TABLES[lang][key] ?? zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ''));
}

/** Fill every [data-t] element and set the toggle; `onChange` re-renders dynamic parts. */
export function apply(button, onChange) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  button.textContent = lang === 'zh' ? 'English' : '中文';
  button.lang = lang === 'zh' ? 'en' : 'zh-CN';
  button.onclick = () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('jifentong.lang', lang);
    apply(button, onChange);
    document.getElementById('status')?.replaceChildren();
    onChange();
  };
}

/** Micro-yuan as ¥ with fen, by integer arithmetic (fen truncated). */
export const yuan = (micro) => `¥${Math.trunc(micro / 1000000)}.${String(Math.trunc((micro % 1000000) / 10000)).padStart(2, '0')}`;
export const when = (ms) => new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
