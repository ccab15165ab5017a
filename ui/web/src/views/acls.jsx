// The ACL views: tokens, policies and roles, read through the public
// /v1/acl/* endpoints with the logged-in token; policies can also be
// created and deleted (a token with acl = "write").
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { enc, get, request } from '../api.js';
import { Confirm, link } from '../common.jsx';

// useAPI loads one API answer for the page: { data, error } (neither while
// loading).
function useAPI(path, dc) {
  const [state, setState] = useState({});
  useEffect(() => {
    let live = true;
    setState({});
    get(path, { dc })
      .then(({ data }) => live && setState({ data }))
      .catch((error) => live && setState({ error }));
    return () => {
      live = false;
    };
  }, [path, dc]);
  return state;
}

// ACLError says what a refusal means for the operator: ACLs off (401, as
// Consul answers "ACL support disabled"), a token without acl:read (403),
// or another failure.
function ACLError({ error, dc }) {
  if (error.status === 401) {
    return (
      <p class="notice" role="alert">
        ACLs are disabled on this agent: there are no tokens, policies or roles to show.
      </p>
    );
  }
  if (error.status === 403) {
    return (
      <p class="error" role="alert">
        Permission denied: this token may not read ACLs (it needs <code>acl = "read"</code>).{' '}
        <a href={link(dc, 'token')}>Log in with another token</a>.
      </p>
    );
  }
  return (
    <p class="error" role="alert">
      {String(error.message || error)}
    </p>
  );
}

const TABS = [
  ['tokens', 'Tokens'],
  ['policies', 'Policies'],
  ['roles', 'Roles'],
];

function ACLPage({ dc, tab, title, children }) {
  return (
    <section class="page">
      <header class="page-head">
        <h1>{title}</h1>
        <nav class="tabs" aria-label="ACLs">
          {TABS.map(([t, label]) => (
            <a key={t} href={link(dc, 'acls', t)} aria-current={t === tab ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      {children}
    </section>
  );
}

// Names lists linked policies or roles ({ID, Name}) of a token or role.
function Names({ dc, kind, list }) {
  if (!list || !list.length) return <span class="muted">none</span>;
  return (
    <span class="tags">
      {list.map((x) => (
        <a class="tag" key={x.ID || x.Name} href={x.ID ? link(dc, 'acls', kind, encodeURIComponent(x.ID)) : undefined}>
          {x.Name || x.ID}
        </a>
      ))}
    </span>
  );
}

function Loading({ state, dc }) {
  if (state.error) return <ACLError error={state.error} dc={dc} />;
  return <p class="muted">Loading…</p>;
}

export function Tokens({ dc }) {
  const s = useAPI('/v1/acl/tokens', dc);
  return (
    <ACLPage dc={dc} tab="tokens" title="Tokens">
      {!s.data ? (
        <Loading state={s} dc={dc} />
      ) : (
        <div class="table-wrap">
          <table class="acl-table" aria-label="Tokens">
            <thead>
              <tr>
                <th>AccessorID</th>
                <th>Description</th>
                <th>Policies</th>
                <th>Roles</th>
                <th>Scope</th>
              </tr>
            </thead>
            <tbody>
              {s.data.map((t) => (
                <tr key={t.AccessorID} data-accessor={t.AccessorID}>
                  <td>
                    <a href={link(dc, 'acls', 'tokens', encodeURIComponent(t.AccessorID))}>
                      <code>{t.AccessorID}</code>
                    </a>
                  </td>
                  <td>{t.Description}</td>
                  <td>
                    <Names dc={dc} kind="policies" list={t.Policies} />
                  </td>
                  <td>
                    <Names dc={dc} kind="roles" list={t.Roles} />
                  </td>
                  <td>{t.Local ? 'local' : 'global'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </ACLPage>
  );
}

// Fields shows an object's fields as a definition list.
function Fields({ rows }) {
  return (
    <dl class="fields">
      {rows
        .filter(([, v]) => v !== undefined && v !== null && v !== '')
        .map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
    </dl>
  );
}

export function Token({ dc, id }) {
  const s = useAPI('/v1/acl/token/' + enc(id), dc);
  const t = s.data;
  return (
    <ACLPage dc={dc} tab="tokens" title="Token">
      {!t ? (
        <Loading state={s} dc={dc} />
      ) : (
        <Fields
          rows={[
            ['AccessorID', <code>{t.AccessorID}</code>],
            // The SecretID shows only as the API answers it: it hides it
            // ("<hidden>" or left out) from a token without acl:write.
            ['SecretID', t.SecretID && <code class="secret">{t.SecretID}</code>],
            ['Description', t.Description],
            ['Policies', <Names dc={dc} kind="policies" list={t.Policies} />],
            ['Roles', <Names dc={dc} kind="roles" list={t.Roles} />],
            ['Scope', t.Local ? 'local' : 'global'],
            ['Created', t.CreateTime],
            ['Expires', t.ExpirationTime],
            ['Create index', t.CreateIndex],
            ['Modify index', t.ModifyIndex],
          ]}
        />
      )}
    </ACLPage>
  );
}

// NewPolicy creates a policy (PUT /v1/acl/policy) and opens its page; the
// API's refusal (invalid rules, a name in use, no acl:write) shows as is.
function NewPolicy({ dc }) {
  const { route } = useLocation();
  const [form, setForm] = useState({ Name: '', Description: '', Rules: '' });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const field = (k) => ({ value: form[k], onInput: (e) => setForm({ ...form, [k]: e.currentTarget.value }) });
  return (
    <details class="new-policy">
      <summary>New policy</summary>
      <form
        class="editor"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const { data } = await request('PUT', '/v1/acl/policy', { dc, body: JSON.stringify(form) });
            route(link(dc, 'acls', 'policies', encodeURIComponent(data.ID)));
          } catch (err) {
            setError(err);
            setBusy(false);
          }
        }}
      >
        <label>
          Name
          <input name="policy-name" required {...field('Name')} />
        </label>
        <label>
          Description
          <input name="policy-description" {...field('Description')} />
        </label>
        <label>
          Rules (HCL or JSON)
          <textarea name="policy-rules" rows={8} spellcheck={false} {...field('Rules')} />
        </label>
        <div class="actions">
          <button class="primary" type="submit" disabled={busy || !form.Name.trim()}>
            Create
          </button>
        </div>
        {error && <ACLError error={error} dc={dc} />}
      </form>
    </details>
  );
}

export function Policies({ dc }) {
  const s = useAPI('/v1/acl/policies', dc);
  return (
    <ACLPage dc={dc} tab="policies" title="Policies">
      {s.data && <NewPolicy dc={dc} />}
      {!s.data ? (
        <Loading state={s} dc={dc} />
      ) : (
        <div class="table-wrap">
          <table class="acl-table" aria-label="Policies">
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th>ID</th>
                <th>Datacenters</th>
              </tr>
            </thead>
            <tbody>
              {s.data.map((p) => (
                <tr key={p.ID} data-policy={p.Name}>
                  <td>
                    <a href={link(dc, 'acls', 'policies', encodeURIComponent(p.ID))}>{p.Name}</a>
                  </td>
                  <td>{p.Description}</td>
                  <td>
                    <code>{p.ID}</code>
                  </td>
                  <td>{(p.Datacenters || []).join(', ') || 'all'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </ACLPage>
  );
}

export function Policy({ dc, id }) {
  const s = useAPI('/v1/acl/policy/' + enc(id), dc);
  const p = s.data;
  const { route } = useLocation();
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState(null);
  const remove = async () => {
    setConfirm(false);
    setError(null);
    try {
      await request('DELETE', '/v1/acl/policy/' + enc(id), { dc });
      route(link(dc, 'acls', 'policies'));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <ACLPage dc={dc} tab="policies" title={p ? 'Policy ' + p.Name : 'Policy'}>
      {!p ? (
        <Loading state={s} dc={dc} />
      ) : (
        <>
          <div class="actions">
            <button type="button" class="danger" onClick={() => setConfirm(true)}>
              Delete
            </button>
          </div>
          {error && <ACLError error={error} dc={dc} />}
          <Confirm open={confirm} text={`Delete the policy ${p.Name}?`} yes="Delete" onYes={remove} onNo={() => setConfirm(false)} />
          <Fields
            rows={[
              ['ID', <code>{p.ID}</code>],
              ['Name', p.Name],
              ['Description', p.Description],
              ['Datacenters', (p.Datacenters || []).join(', ') || 'all'],
              ['Create index', p.CreateIndex],
              ['Modify index', p.ModifyIndex],
            ]}
          />
          <h2>Rules</h2>
          {p.Rules ? <pre class="output rules">{p.Rules}</pre> : <p class="muted">No rules.</p>}
        </>
      )}
    </ACLPage>
  );
}

export function Roles({ dc }) {
  const s = useAPI('/v1/acl/roles', dc);
  return (
    <ACLPage dc={dc} tab="roles" title="Roles">
      {!s.data ? (
        <Loading state={s} dc={dc} />
      ) : s.data.length === 0 ? (
        <p class="muted">No roles.</p>
      ) : (
        <div class="table-wrap">
          <table class="acl-table" aria-label="Roles">
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th>Policies</th>
              </tr>
            </thead>
            <tbody>
              {s.data.map((r) => (
                <tr key={r.ID} data-role={r.Name}>
                  <td>
                    <a href={link(dc, 'acls', 'roles', encodeURIComponent(r.ID))}>{r.Name}</a>
                  </td>
                  <td>{r.Description}</td>
                  <td>
                    <Names dc={dc} kind="policies" list={r.Policies} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </ACLPage>
  );
}

export function Role({ dc, id }) {
  const s = useAPI('/v1/acl/role/' + enc(id), dc);
  const r = s.data;
  return (
    <ACLPage dc={dc} tab="roles" title={r ? 'Role ' + r.Name : 'Role'}>
      {!r ? (
        <Loading state={s} dc={dc} />
      ) : (
        <Fields
          rows={[
            ['ID', <code>{r.ID}</code>],
            ['Name', r.Name],
            ['Description', r.Description],
            ['Policies', <Names dc={dc} kind="policies" list={r.Policies} />],
            [
              'Service identities',
              (r.ServiceIdentities || []).map((x) => x.ServiceName + (x.Datacenters ? ' (' + x.Datacenters.join(', ') + ')' : '')).join(', '),
            ],
            ['Node identities', (r.NodeIdentities || []).map((x) => x.NodeName + ' (' + x.Datacenter + ')').join(', ')],
            ['Create index', r.CreateIndex],
            ['Modify index', r.ModifyIndex],
          ]}
        />
      )}
    </ACLPage>
  );
}
