// The agent's HTTP API as the page uses it: the token, JSON requests, and
// the one live stream per page (docs/ui.md).
import { useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';

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

// The datacenter the page shows comes from its address; the agent's own
// is left out of requests so that they stay local, and any other is sent
// as ?dc=, which the agent forwards to that datacenter. Requests wait for
// the agent's datacenter to be known (setLocalDC, from /v1/agent/self):
// a page opened at another datacenter's address must not show the local
// one's rows meanwhile.
let localDC = '';
let localKnown;
const localReady = new Promise((resolve) => {
  localKnown = resolve;
});
export function setLocalDC(dc) {
  localDC = dc;
  localKnown();
}

// isRemote says whether dc is another datacenter than the agent's.
export const isRemote = (dc) => !!dc && !!localDC && dc !== localDC;

function withDC(path, dc) {
  if (!isRemote(dc)) return path;
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
export async function request(method, path, { body, dc, local } = {}) {
  if (!local) await localReady;
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

function streamURL(topic, params) {
  let u = '/v1/internal/ui/stream?topic=' + encodeURIComponent(topic);
  for (const [k, v] of Object.entries(params || {})) {
    if (v) u += '&' + k + '=' + encodeURIComponent(v);
  }
  const token = getToken();
  if (token) u += '&token=' + encodeURIComponent(token);
  return u;
}

// openStream follows a topic of the stream: onMessage(event type, parsed
// data, id) for each message. The browser reconnects by itself after a
// network error (sending Last-Event-ID); an HTTP error closes the
// EventSource, so the page opens it again a few seconds later from the last
// position it saw (?index=). onStatus reports 'connecting', 'live' or the
// error. The stream is the local agent's own (a forwarded request cannot
// stream): for another datacenter it is not opened, and onUnavailable
// follows the topic another way, or the status is 'local-only'.
export function openStream(topic, { params, dc, onMessage, onStatus, onUnavailable }) {
  let es = null;
  let lastID = '';
  let timer = 0;
  let closed = false;
  let opened = false;
  const connect = () => {
    const p = { ...params };
    if (lastID) p.index = lastID;
    es = new EventSource(streamURL(topic, p));
    onStatus('connecting');
    es.onopen = () => {
      opened = true;
      onStatus('live');
    };
    const handle = (e) => {
      if (e.lastEventId) lastID = e.lastEventId;
      onStatus('live');
      onMessage(e.type, JSON.parse(e.data), e.lastEventId);
    };
    es.addEventListener('rows', handle);
    es.addEventListener('event', handle);
    es.addEventListener('gap', handle);
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED && !closed) {
        if (!opened && onUnavailable) {
          // An agent without the UI stream: the caller follows the topic
          // another way.
          closed = true;
          onUnavailable();
          return;
        }
        onStatus('disconnected');
        timer = setTimeout(connect, 3000);
      } else {
        onStatus('reconnecting');
      }
    };
  };
  const stop = () => {
    closed = true;
    clearTimeout(timer);
    if (es) es.close();
    window.removeEventListener('pagehide', stop);
  };
  // Leaving the page closes the stream at once: a browser may otherwise
  // keep it open a while, and six of them hold every connection the
  // browser allows to one host.
  window.addEventListener('pagehide', stop);
  onStatus('connecting');
  localReady.then(() => {
    if (closed) return;
    if (!isRemote(dc)) connect();
    else if (onUnavailable) {
      closed = true;
      onUnavailable();
    } else onStatus('local-only');
  });
  return stop;
}

// useRows keeps a row topic's rows (a Map by row key) current. The map is
// updated in place and a version counter re-renders the page, so a message
// that changes three of 5,000 rows costs three map writes.
export function useRows(topic, keyOf, dc) {
  const rows = useRef(new Map());
  const [state, setState] = useState({ status: 'connecting', index: 0, loaded: false });
  const [version, bump] = useReducer((x) => x + 1, 0);
  // A layout effect: the stream opens as the page renders, not a frame
  // later.
  useLayoutEffect(() => {
    rows.current = new Map();
    setState({ status: 'connecting', index: 0, loaded: false });
    bump();
    if (!topic) return undefined;
    let stopFallback = () => {};
    const apply = (msg) => {
      const m = rows.current;
      if (msg.Reset) m.clear();
      for (const row of msg.Upsert || []) m.set(keyOf(row), row);
      for (const k of msg.Delete || []) m.delete(k);
      setState({ status: 'live', index: msg.Index, loaded: true });
      bump();
    };
    const stop = openStream(topic, {
      dc,
      onStatus: (status) => setState((s) => (s.status === status ? s : { ...s, status })),
      onMessage: (type, msg) => {
        if (type !== 'rows') return;
        if (!performance.getEntriesByName('herald:first-rows:' + topic).length) {
          performance.mark('herald:first-rows:' + topic);
        }
        apply(msg);
      },
      onUnavailable: () => {
        stopFallback = followByBlockingQueries(topic, dc, apply, (status) =>
          setState((s) => (s.status === status ? s : { ...s, status })),
        );
      },
    });
    return () => {
      stop();
      stopFallback();
    };
  }, [topic, dc]);
  return { rows: rows.current, version, ...state };
}

// followByBlockingQueries follows a row topic through the public /v1
// endpoints with blocking queries (as Consul's own UI does), for an agent
// that has no UI stream: each answer replaces the rows (Reset).
function followByBlockingQueries(topic, dc, apply, onStatus) {
  let stopped = false;
  const ctl = new AbortController();
  const [kind, ...restParts] = topic.split('/');
  const rest = restParts.join('/');
  const load = async (index) => {
    const q = (path) => path + (path.includes('?') ? '&' : '?') + 'index=' + index + '&wait=30s';
    const fetchJSON = async (path, block) => {
      const headers = {};
      const token = getToken();
      if (token) headers['X-Consul-Token'] = token;
      const resp = await fetch(withDC(block ? q(path) : path, dc), { headers, signal: ctl.signal });
      const idx = Number(resp.headers.get('X-Consul-Index') || 0);
      if (resp.status === 404) return { data: null, index: idx };
      if (!resp.ok) throw new HTTPError(resp.status, await resp.text());
      return { data: await resp.json(), index: idx };
    };
    switch (kind) {
      case 'services':
        return fetchJSON('/v1/internal/ui/services', true).then((r) => ({ rows: r.data || [], index: r.index }));
      case 'nodes':
        return fetchJSON('/v1/internal/ui/nodes', true).then((r) => ({ rows: r.data || [], index: r.index }));
      case 'service':
        return fetchJSON('/v1/health/service/' + enc(rest), true).then((r) => ({ rows: r.data || [], index: r.index }));
      case 'kvkey':
        return fetchJSON('/v1/kv/' + enc(rest), true).then((r) => ({ rows: r.data || [], index: r.index }));
      case 'kv': {
        const r = await fetchJSON('/v1/kv/' + enc(rest) + '?keys&separator=/', true);
        const keys = (r.data || []).filter((k) => k !== rest);
        return { rows: keys.map((k) => ({ Key: k, Folder: k.endsWith('/') })), index: r.index };
      }
      case 'node': {
        const h = await fetchJSON('/v1/health/node/' + enc(rest), true);
        const [n, s] = await Promise.all([
          fetchJSON('/v1/catalog/node/' + enc(rest)),
          fetchJSON('/v1/session/node/' + enc(rest)),
        ]);
        if (!n.data) return { rows: [], index: h.index };
        const sessions = s.data || [];
        if (sessions.length) {
          const all = (await fetchJSON('/v1/kv/?recurse')).data || [];
          for (const sess of sessions) sess.Locks = all.filter((p) => p.Session === sess.ID).map((p) => p.Key);
        }
        return {
          rows: [{ Node: n.data.Node, Services: Object.values(n.data.Services || {}), Checks: h.data || [], Sessions: sessions }],
          index: h.index,
        };
      }
      default:
        throw new Error('no live view of ' + topic + ' without the UI stream');
    }
  };
  (async () => {
    let index = 0;
    let failures = 0;
    while (!stopped) {
      try {
        const r = await load(index);
        if (stopped) return;
        failures = 0;
        onStatus('live');
        if (r.index !== index || index === 0) apply({ Reset: true, Upsert: r.rows, Index: r.index });
        index = r.index < index ? 0 : r.index;
      } catch (e) {
        if (stopped) return;
        onStatus('reconnecting');
        failures++;
        await new Promise((res) => setTimeout(res, Math.min(30000, 1000 * 2 ** failures)));
      }
    }
  })();
  const stop = () => {
    stopped = true;
    ctl.abort();
    window.removeEventListener('pagehide', stop);
  };
  window.addEventListener('pagehide', stop);
  return stop;
}
