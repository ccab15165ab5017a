import { useEffect, useState } from 'preact/hooks';
import { diffLines } from 'diff';
import { decodeValue, enc, get } from '../api.js';
import { ErrorBox, link } from '../common.jsx';

// readable makes a history object easy to compare: a KV pair's base64
// Value is shown decoded.
function readable(obj) {
  if (obj == null) return '';
  const copy = (o) => (o && typeof o === 'object' && 'Value' in o && 'Key' in o ? { ...o, Value: decodeValue(o.Value) } : o);
  const v = Array.isArray(obj) ? obj.map(copy) : copy(obj);
  return JSON.stringify(v, null, 2) + '\n';
}

function Diff({ before, after }) {
  const parts = diffLines(readable(before), readable(after));
  return (
    <pre class="diff">
      {parts.map((p, i) => (
        <span key={i} class={p.added ? 'add' : p.removed ? 'del' : 'same'}>
          {p.value
            .replace(/\n$/, '')
            .split('\n')
            .map((line) => (p.added ? '+ ' : p.removed ? '- ' : '  ') + line)
            .join('\n')}
        </span>
      ))}
    </pre>
  );
}

const TITLES = { kv: 'Key', service: 'Service', node: 'Node' };

// History lists the commands that changed a key, a service or a node,
// newest first, and rebuilds the object as it was at a chosen index.
export function History({ dc, kind, name }) {
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [at, setAt] = useState(null);
  const base = '/v1/internal/ui/history/' + kind + '/' + enc(name);
  const load = async (before) => {
    try {
      const { data } = await get(base + '?limit=50' + (before ? '&before=' + before : ''), { dc });
      setPage((p) => (before && p ? { ...data, Entries: [...p.Entries, ...(data.Entries || [])] } : { ...data, Entries: data.Entries || [] }));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    setPage(null);
    setAt(null);
    setError(null);
    load();
  }, [kind, name, dc]);
  const showAt = async (index) => {
    try {
      const { data } = await get(base + '?at=' + index, { dc });
      setAt(data);
    } catch (e) {
      setAt({ Index: index, Error: e.message });
    }
  };
  const back = kind === 'kv' ? link(dc, 'kv', enc(name)) : link(dc, kind + 's', encodeURIComponent(name));
  const entries = page ? page.Entries : [];
  const last = entries[entries.length - 1];
  return (
    <section class="page">
      <header class="page-head">
        <p class="crumbs">
          History of {TITLES[kind] ? TITLES[kind].toLowerCase() : kind} <a href={back}>{name}</a>
        </p>
        <h1>History</h1>
      </header>
      <ErrorBox error={error} />
      {page && (
        <p class="muted">
          {entries.length} {entries.length === 1 ? 'change' : 'changes'} · history kept from index {page.First} · now at {page.Index}
        </p>
      )}
      {page && entries.length === 0 && <p class="muted">No change to it in the retained history.</p>}
      {at && (
        <div class="card at" role="region" aria-label="State at index">
          <div class="card-head">
            <strong>As it was at index {at.Index}</strong>
            <button type="button" onClick={() => setAt(null)}>
              Close
            </button>
          </div>
          {at.Error ? <p class="error">{at.Error}</p> : <pre class="output state">{readable(at.State) || 'absent'}</pre>}
        </div>
      )}
      <ol class="history" aria-label="Changes">
        {entries.map((e) => (
          <li key={e.Index} class="card" data-index={e.Index}>
            <div class="card-head">
              <strong>#{e.Index}</strong>
              <span>
                {e.Type} {e.Op}
              </span>
              <time datetime={e.Time}>{e.Time ? new Date(e.Time).toLocaleString() : ''}</time>
              {e.Accessor && (
                <span class="muted">
                  token <code>{e.Accessor}</code>
                </span>
              )}
              {e.Node && <span class="muted">via {e.Node}</span>}
              {e.RemoteAddr && <span class="muted">from {e.RemoteAddr}</span>}
              <button type="button" onClick={() => showAt(e.Index)}>
                State at #{e.Index}
              </button>
            </div>
            <Diff before={e.Before} after={e.After} />
          </li>
        ))}
      </ol>
      {last && last.Index > page.First && entries.length % 50 === 0 && (
        <button type="button" onClick={() => load(last.Index)}>
          Older changes
        </button>
      )}
    </section>
  );
}
