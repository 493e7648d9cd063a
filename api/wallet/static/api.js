// The node's HTTP API, same origin only. Records go out as signed wire text; nothing else
// that is secret exists outside this browser's IndexedDB.
export class ApiError extends Error {
  constructor(status, code, detail) { super(`${code}: ${detail}`); this.status = status; this.code = code; }
}

async function answer(res) {
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.code || 'http_error', body.detail || res.statusText);
  return body;
}

export async function getJson(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ''));
  const qs = query.toString();
  return answer(await fetch(qs ? `${path}?${qs}` : path, { headers: { accept: 'application/json' } }));
}

/** POST a signed record and wait for its block; the answer carries the receipt. */
export async function submit(wire) {
  return answer(await fetch('/v1/records?wait=true&timeout_ms=15000', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: wire }));
}

export const lastSeq = async (key) => (await getJson(`/v1/signers/${key}/seq`)).last;

/** Follow /v1/events with `filters`; `onEvent` gets each parsed event. Returns the source. */
export function follow(filters, onEvent) {
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
  const source = new EventSource(`/v1/events?${query}`);
  source.addEventListener('record', (e) => onEvent(JSON.parse(e.data)));
  return source;
}
