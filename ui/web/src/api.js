// The agent's HTTP API as the page uses it: the token, JSON requests, and
// the one live stream per page (docs/ui.md).
import { useEffect, useReducer, useRef, useState } from 'preact/hooks';

export const BASE = window.heraldBase || '/ui/';

const TOKEN_KEY = 'herald.token';

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

// The datacenter the page shows, from its address; the agent's own is
// left out of requests so that they stay local.
let localDC = '';
export function setLocalDC(dc) {
  localDC = dc;
}

function withDC(path, dc) {
  if (!dc || dc === localDC) return path;
  return path + (path.includes('?') ? '&' : '?') + 'dc=' + encodeURIComponent(dc);
}

export class HTTPError extends Error {
  constructor(status, body) {
    super(`${status}: ${body || 'request failed'}`);
    this.status = status;
  }
}

// request sends one API request with the token; it answers the decoded
// JSON (or the text when the answer is not JSON).
export async function request(method, path, { body, dc } = {}) {
  const headers = {};
  const token = getToken();
  if (token) headers['X-Consul-Token'] = token;
  const resp = await fetch(withDC(path, dc), { method, headers, body });
  const text = await resp.text();
  if (!resp.ok) throw new HTTPError(resp.status, text.trim());
  try {
    return { data: JSON.parse(text), index: Number(resp.headers.get('X-Consul-Index') || 0) };
  } catch {
    return { data: text, index: Number(resp.headers.get('X-Consul-Index') || 0) };
  }
}

export const get = (path, opts) => request('GET', path, opts);

// Path segments of keys and names keep their slashes.
export const enc = (s) => s.split('/').map(encodeURIComponent).join('/');

export function decodeValue(b64) {
  if (b64 == null) return '';
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

function streamURL(topic, params, dc) {
  let u = '/v1/internal/ui/stream?topic=' + encodeURIComponent(topic);
  for (const [k, v] of Object.entries(params || {})) {
    if (v) u += '&' + k + '=' + encodeURIComponent(v);
  }
  const token = getToken();
  if (token) u += '&token=' + encodeURIComponent(token);
  return withDC(u, dc);
}

// openStream follows a topic of the stream: onMessage(event type, parsed
// data, id) for each message. The browser reconnects by itself after a
// network error (sending Last-Event-ID); an HTTP error closes the
// EventSource, so the page opens it again a few seconds later from the last
// index it saw. onStatus reports 'connecting', 'live' or the error.
export function openStream(topic, { params, dc, onMessage, onStatus }) {
  let es = null;
  let lastID = '';
  let timer = 0;
  let closed = false;
  const connect = () => {
    const p = { ...params };
    if (lastID && !lastID.includes(':')) p.index = lastID;
    es = new EventSource(streamURL(topic, p, dc));
    onStatus('connecting');
    es.onopen = () => onStatus('live');
    const handle = (e) => {
      if (e.lastEventId) lastID = e.lastEventId;
      onStatus('live');
      onMessage(e.type, JSON.parse(e.data), e.lastEventId);
    };
    es.addEventListener('rows', handle);
    es.addEventListener('event', handle);
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED && !closed) {
        onStatus('disconnected');
        timer = setTimeout(connect, 3000);
      } else {
        onStatus('reconnecting');
      }
    };
  };
  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    if (es) es.close();
  };
}

// useRows keeps a row topic's rows (a Map by row key) current. The map is
// updated in place and a version counter re-renders the page, so a message
// that changes three of 5,000 rows costs three map writes.
export function useRows(topic, keyOf, dc) {
  const rows = useRef(new Map());
  const [state, setState] = useState({ status: 'connecting', index: 0, loaded: false });
  const [version, bump] = useReducer((x) => x + 1, 0);
  useEffect(() => {
    rows.current = new Map();
    setState({ status: 'connecting', index: 0, loaded: false });
    bump();
    if (!topic) return undefined;
    return openStream(topic, {
      dc,
      onStatus: (status) => setState((s) => (s.status === status ? s : { ...s, status })),
      onMessage: (type, msg) => {
        if (type !== 'rows') return;
        const m = rows.current;
        if (msg.Reset) m.clear();
        for (const row of msg.Upsert || []) m.set(keyOf(row), row);
        for (const k of msg.Delete || []) m.delete(k);
        setState({ status: 'live', index: msg.Index, loaded: true });
        bump();
      },
    });
  }, [topic, dc]);
  return { rows: rows.current, version, ...state };
}
