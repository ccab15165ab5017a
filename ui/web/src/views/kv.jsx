import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { HTTPError, decodeValue, enc, get, request, useRows } from '../api.js';
import { Confirm, ErrorBox, Live, link } from '../common.jsx';

// KV shows the folder or the key the address names: /kv/<folder>/ or
// /kv/<key>.
export function KV({ dc, k: key }) {
  if (key === '' || key.endsWith('/')) return <Folder dc={dc} folder={key} />;
  return <Key dc={dc} name={key} />;
}

const kvLink = (dc, key) => link(dc, 'kv', enc(key));

function Crumbs({ dc, k }) {
  const parts = k.split('/');
  const last = parts.pop();
  let acc = '';
  return (
    <p class="crumbs">
      <a href={link(dc, 'kv', '')}>Key/Value</a> /{' '}
      {parts.map((p) => {
        acc += p + '/';
        return (
          <span key={acc}>
            <a href={kvLink(dc, acc)}>{p}</a> /{' '}
          </span>
        );
      })}
      {last ? null : null}
    </p>
  );
}

function Folder({ dc, folder }) {
  const { rows, version, status, index, loaded } = useRows('kv/' + folder, (r) => r.Key, dc);
  const { route } = useLocation();
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState(null);
  const children = useMemo(
    () =>
      Array.from(rows.values()).sort((a, b) =>
        a.Folder === b.Folder ? a.Key.localeCompare(b.Key) : a.Folder ? -1 : 1,
      ),
    [version],
  );
  const remove = async () => {
    setConfirm(false);
    try {
      await request('DELETE', '/v1/kv/' + enc(folder) + '?recurse', { dc });
      route(kvLink(dc, folder.replace(/[^/]+\/$/, '')));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section class="page">
      <header class="page-head">
        <Crumbs dc={dc} k={folder} />
        <h1>{folder || 'Key/Value'}</h1>
        <Live status={status} index={index} />
        {folder && (
          <button type="button" class="danger" onClick={() => setConfirm(true)}>
            Delete folder
          </button>
        )}
      </header>
      <ErrorBox error={error} />
      {loaded && children.length === 0 && <p class="muted">This folder is empty.</p>}
      <ul class="plain kv-list" aria-label="Keys">
        {children.map((r) => (
          <li key={r.Key}>
            <a href={kvLink(dc, r.Key)} class={r.Folder ? 'folder' : 'key'} data-key={r.Key}>
              {r.Key.slice(folder.length)}
            </a>
            {r.Folder && <span class="muted"> folder</span>}
            {!r.Folder && r.ModifyIndex > 0 && (
              <span class="muted">
                {' '}
                · index {r.ModifyIndex}
                {r.Flags ? ' · flags ' + r.Flags : ''}
              </span>
            )}
          </li>
        ))}
      </ul>
      <h2>Create</h2>
      <Editor dc={dc} folder={folder} />
      <Confirm
        open={confirm}
        text={`Delete the folder ${folder} and every key under it?`}
        yes="Delete folder"
        onYes={remove}
        onNo={() => setConfirm(false)}
      />
    </section>
  );
}

function jsonError(text) {
  try {
    JSON.parse(text);
    return '';
  } catch (e) {
    return e.message;
  }
}

function looksJSON(text) {
  const t = text.trim();
  return (t.startsWith('{') || t.startsWith('[')) && !jsonError(t);
}

// Editor creates a key in folder (when folder is given) or edits the pair
// loaded (CAS on its ModifyIndex).
function Editor({ dc, folder, pair, onSaved, onConflict }) {
  const { route } = useLocation();
  const [name, setName] = useState('');
  const [text, setText] = useState(pair ? decodeValue(pair.Value) : '');
  const [mode, setMode] = useState(pair && looksJSON(decodeValue(pair.Value)) ? 'json' : 'plain');
  const [flags, setFlags] = useState(pair ? String(pair.Flags || 0) : '0');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  // A newly loaded pair (after a save, or "load theirs") replaces the
  // draft; the first one is already in the initial state, and the user may
  // be typing before this effect would run.
  const shownIndex = useRef(pair ? pair.ModifyIndex : 0);
  useEffect(() => {
    if (!pair || pair.ModifyIndex === shownIndex.current) return;
    shownIndex.current = pair.ModifyIndex;
    setText(decodeValue(pair.Value));
    setFlags(String(pair.Flags || 0));
  }, [pair && pair.ModifyIndex]);
  const invalid = mode === 'json' ? jsonError(text) : '';
  const badFlags = !/^\d+$/.test(flags);
  const save = async (e, casIndex) => {
    if (e) e.preventDefault();
    if (invalid || badFlags) return;
    const key = pair ? pair.Key : folder + name;
    if (!pair && !name) return setError(new Error('A key needs a name.'));
    setBusy(true);
    setError(null);
    try {
      const cas = casIndex ?? (pair ? pair.ModifyIndex : 0);
      const body = key.endsWith('/') ? undefined : text;
      const { data } = await request('PUT', '/v1/kv/' + enc(key) + '?cas=' + cas + '&flags=' + flags, { body, dc });
      if (data === true) {
        if (pair) onSaved();
        else route(kvLink(dc, key));
      } else if (pair) {
        onConflict(text);
      } else {
        setError(new Error(`${key} already exists.`));
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="editor" onSubmit={save}>
      {!pair && (
        <label>
          Key <span class="muted">(end with / for a folder)</span>
          <span class="prefix">
            <code>{folder}</code>
            <input name="key" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
          </span>
        </label>
      )}
      <div class="mode" role="radiogroup" aria-label="Value format">
        <label>
          <input type="radio" name="mode" value="plain" checked={mode === 'plain'} onChange={() => setMode('plain')} /> Plain text
        </label>
        <label>
          <input type="radio" name="mode" value="json" checked={mode === 'json'} onChange={() => setMode('json')} /> JSON
        </label>
        {mode === 'json' && !invalid && (
          <button type="button" onClick={() => setText(JSON.stringify(JSON.parse(text), null, 2))}>
            Format
          </button>
        )}
      </div>
      <textarea
        name="value"
        aria-label="Value"
        rows={Math.min(20, Math.max(4, text.split('\n').length + 1))}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        spellcheck={false}
        aria-invalid={!!invalid}
      />
      {invalid && (
        <p class="error" role="alert">
          Invalid JSON: {invalid}
        </p>
      )}
      <label class="flags">
        Flags
        <input name="flags" inputMode="numeric" value={flags} onInput={(e) => setFlags(e.currentTarget.value)} aria-invalid={badFlags} />
      </label>
      <ErrorBox error={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || !!invalid || badFlags}>
          {pair ? 'Save' : 'Create'}
        </button>
      </div>
    </form>
  );
}

function Key({ dc, name }) {
  const { route } = useLocation();
  const [pair, setPair] = useState(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState(null);
  const [conflict, setConflict] = useState(null);
  const [confirm, setConfirm] = useState(false);
  const live = useRows('kvkey/' + name, (r) => r.Key, dc);
  const current = live.rows.get(name);

  const load = async () => {
    try {
      const { data } = await get('/v1/kv/' + enc(name), { dc });
      setPair(data[0]);
      setMissing(false);
      setConflict(null);
    } catch (e) {
      if (e instanceof HTTPError && e.status === 404) {
        setPair(null);
        setMissing(true);
      } else setError(e);
    }
  };
  useEffect(() => {
    setPair(null);
    load();
  }, [name, dc]);

  const onConflict = async (mine) => {
    try {
      const { data } = await get('/v1/kv/' + enc(name), { dc });
      setConflict({ mine, theirs: data[0] });
    } catch (e) {
      if (e instanceof HTTPError && e.status === 404) setConflict({ mine, theirs: null });
      else setError(e);
    }
  };
  const remove = async () => {
    setConfirm(false);
    try {
      const { data } = await request('DELETE', '/v1/kv/' + enc(name) + '?cas=' + pair.ModifyIndex, { dc });
      if (data === true) route(kvLink(dc, name.replace(/[^/]*$/, '')));
      else onConflict(decodeValue(pair.Value));
    } catch (e) {
      setError(e);
    }
  };
  const overwrite = async () => {
    const theirs = conflict.theirs;
    try {
      const { data } = await request('PUT', '/v1/kv/' + enc(name) + '?cas=' + (theirs ? theirs.ModifyIndex : 0), {
        body: conflict.mine,
        dc,
      });
      if (data === true) load();
      else onConflict(conflict.mine);
    } catch (e) {
      setError(e);
    }
  };
  const changed = pair && current && current.ModifyIndex > pair.ModifyIndex;
  const gone = pair && live.loaded && !current;

  return (
    <section class="page">
      <header class="page-head">
        <Crumbs dc={dc} k={name} />
        <h1>{name.replace(/.*\//, '')}</h1>
        <Live status={live.status} index={live.index} />
        <a class="button" href={link(dc, 'history', 'kv', enc(name))}>
          History
        </a>
        {pair && (
          <button type="button" class="danger" onClick={() => setConfirm(true)}>
            Delete
          </button>
        )}
      </header>
      <ErrorBox error={error} />
      {missing && (
        <p class="muted">
          There is no key {name}. <a href={kvLink(dc, name.replace(/[^/]*$/, ''))}>Create it in its folder.</a>
        </p>
      )}
      {pair && (
        <p class="muted" id="loaded-index">
          Loaded at ModifyIndex {pair.ModifyIndex} · created at {pair.CreateIndex}
          {pair.Session && <> · locked by session <code>{pair.Session}</code></>}
        </p>
      )}
      {(changed || gone) && !conflict && (
        <div class="notice" role="status">
          {gone ? 'This key was deleted since you loaded it.' : `This key changed at index ${current.ModifyIndex} since you loaded it.`}{' '}
          <button type="button" onClick={load}>
            Load the current value
          </button>
        </div>
      )}
      {conflict && (
        <div class="conflict" role="alert">
          <strong>Conflict:</strong>{' '}
          {conflict.theirs
            ? `the key changed underneath (now at ModifyIndex ${conflict.theirs.ModifyIndex}; you loaded ${pair.ModifyIndex}). Your change was not saved.`
            : 'the key was deleted underneath. Your change was not saved.'}
          {conflict.theirs && <pre class="output">{decodeValue(conflict.theirs.Value)}</pre>}
          <div class="actions">
            <button type="button" onClick={load}>
              Discard mine, load theirs
            </button>
            <button type="button" class="danger" onClick={overwrite}>
              Overwrite with mine
            </button>
          </div>
        </div>
      )}
      {pair && <Editor key={name} dc={dc} pair={pair} onSaved={load} onConflict={onConflict} />}
      <Confirm open={confirm} text={`Delete the key ${name}?`} yes="Delete" onYes={remove} onNo={() => setConfirm(false)} />
    </section>
  );
}
