import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, lazy, useLocation } from 'preact-iso';
import { BASE, get, getToken, setLocalDC, setToken } from './api.js';
import { link } from './common.jsx';
import { Services } from './views/services.jsx';
import { Service } from './views/service.jsx';
import { Nodes } from './views/nodes.jsx';
import { Node } from './views/node.jsx';
import { KV } from './views/kv.jsx';
import { Events } from './views/events.jsx';
import { Policies, Policy, Role, Roles, Token as ACLToken, Tokens } from './views/acls.jsx';
import './style.css';

// The history view and its diff library load when first opened: the
// services page, the one that must load fast, does not pay for them.
const History = lazy(() => import('./views/history.jsx').then((m) => m.History));

performance.mark('herald:script');

// A page restored from the back/forward cache had its streams closed when
// it was left (api.js); loading it again reopens them.
window.addEventListener('pageshow', (e) => {
  if (e.persisted) location.reload();
});

// The navigation: one entry per view; the datacenter switcher sits beside
// it. The ACL views show only with a token logged in: with ACLs off there
// is nothing to log in with, and the ACL pages say ACLs are disabled.
const NAV = [
  ['services', 'Services'],
  ['nodes', 'Nodes'],
  ['kv', 'Key/Value'],
  ['events', 'Events'],
];
const ACL_NAV = ['acls', 'ACLs'];

// The views as routes: preact-iso hands them the address's parameters,
// decoded. Keys and names keep their slashes (rest parameters); a KV
// address ending in / is a folder.
const ServicesRoute = ({ dc }) => <Services dc={dc} />;
const ServiceRoute = ({ dc, name }) => <Service dc={dc} name={name} />;
const NodesRoute = ({ dc }) => <Nodes dc={dc} />;
const NodeRoute = ({ dc, name }) => <Node dc={dc} name={name} />;
const KVRoute = ({ dc, k: rest }) => {
  useLocation(); // re-render on every move: the router's path drops the trailing slash
  const k = rest || '';
  return <KV dc={dc} k={k && location.pathname.endsWith('/') ? k + '/' : k} />;
};
const HistoryRoute = ({ dc, kind, name }) => <History dc={dc} kind={kind} name={name || ''} />;
const EventsRoute = ({ dc }) => <Events dc={dc} />;
const TokenRoute = ({ dc }) => <Token dc={dc} />;
const ACLTokensRoute = ({ dc }) => <Tokens dc={dc} />;
const ACLTokenRoute = ({ dc, id }) => <ACLToken dc={dc} id={id} />;
const ACLPoliciesRoute = ({ dc }) => <Policies dc={dc} />;
const ACLPolicyRoute = ({ dc, id }) => <Policy dc={dc} id={id} />;
const ACLRolesRoute = ({ dc }) => <Roles dc={dc} />;
const ACLRoleRoute = ({ dc, id }) => <Role dc={dc} id={id} />;

// SWITCH_TO is where the datacenter switcher lands for each view: the same
// view's list in the other datacenter (a service, node or key there may
// not exist; the history is the local agent's own).
const SWITCH_TO = {
  services: 'services',
  nodes: 'nodes',
  kv: 'kv/',
  events: 'events',
  token: 'token',
  acls: 'acls/tokens',
};

function DCSwitcher({ dc, dcs }) {
  const { path, route } = useLocation();
  const list = dcs.includes(dc) ? dcs : [dc, ...dcs];
  return (
    <label class="dc">
      <span class="sr-only">Datacenter</span>
      <select
        aria-label="Datacenter"
        value={dc}
        onChange={(e) => {
          const prefix = BASE + encodeURIComponent(dc) + '/';
          const view = path.startsWith(prefix) ? path.slice(prefix.length).split('/')[0] : '';
          route(link(e.currentTarget.value, SWITCH_TO[view] || 'services'));
        }}
      >
        {list.map((d) => (
          <option key={d} value={d}>
            {d}
          </option>
        ))}
      </select>
    </label>
  );
}

function Header({ dc, dcs }) {
  const { path } = useLocation();
  const token = getToken();
  return (
    <header class="top">
      <a class="brand" href={link(dc, 'services')}>
        Herald
      </a>
      <DCSwitcher dc={dc} dcs={dcs} />
      <nav aria-label="Views">
        {(token ? [...NAV, ACL_NAV] : NAV).map(([view, title]) => {
          const href = link(dc, view) + (view === 'kv' ? '/' : view === 'acls' ? '/tokens' : '');
          const current = path.startsWith(link(dc, view));
          return (
            <a key={view} href={href} aria-current={current ? 'page' : undefined}>
              {title}
            </a>
          );
        })}
      </nav>
      <a class="token-link" href={link(dc, 'token')} aria-current={path === link(dc, 'token') ? 'page' : undefined}>
        {token ? 'Token ✓' : 'Log in'}
      </a>
    </header>
  );
}

// Token is the login: the ACL token is kept in the browser's storage and
// sent with every request.
function Token({ dc }) {
  const [value, setValue] = useState(getToken());
  const [saved, setSaved] = useState('');
  const [, force] = useState(0);
  return (
    <section class="page">
      <header class="page-head">
        <h1>ACL token</h1>
      </header>
      <p class="muted">
        The token is kept in this browser's local storage and sent with every request (X-Consul-Token, and ?token= on the live
        stream).
      </p>
      <form
        class="editor"
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value.trim());
          setSaved(value.trim() ? 'Token saved.' : 'Token removed.');
          force((x) => x + 1);
        }}
      >
        <label>
          Secret ID
          <input type="password" name="token" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <div class="actions">
          <button class="primary" type="submit">
            Save
          </button>
          <button
            type="button"
            onClick={() => {
              setValue('');
              setToken('');
              setSaved('Token removed.');
            }}
          >
            Log out
          </button>
        </div>
        {saved && <p role="status">{saved}</p>}
      </form>
    </section>
  );
}

function NotFound() {
  return (
    <section class="page">
      <h1>Not found</h1>
      <p>
        <a href={BASE}>Back to the services</a>
      </p>
    </section>
  );
}

// Shell is every page: the header and the view the address names.
function Shell({ local, dcs }) {
  const { path } = useLocation();
  const m = path.slice(BASE.length).match(/^([^/]+)/);
  const dc = m ? decodeURIComponent(m[1]) : local;
  const P = (s) => BASE + ':dc/' + s;
  return (
    <>
      <Header dc={dc} dcs={dcs} />
      <main id="main">
        <Router>
          <Route path={P('services')} component={ServicesRoute} />
          <Route path={P('services/:name')} component={ServiceRoute} />
          <Route path={P('nodes')} component={NodesRoute} />
          <Route path={P('nodes/:name')} component={NodeRoute} />
          <Route path={P('kv/:k*')} component={KVRoute} />
          <Route path={P('history/:kind/:name*')} component={HistoryRoute} />
          <Route path={P('events')} component={EventsRoute} />
          <Route path={P('token')} component={TokenRoute} />
          <Route path={P('acls/tokens')} component={ACLTokensRoute} />
          <Route path={P('acls/tokens/:id')} component={ACLTokenRoute} />
          <Route path={P('acls/policies')} component={ACLPoliciesRoute} />
          <Route path={P('acls/policies/:id')} component={ACLPolicyRoute} />
          <Route path={P('acls/roles')} component={ACLRolesRoute} />
          <Route path={P('acls/roles/:id')} component={ACLRoleRoute} />
          <Route default component={NotFound} />
        </Router>
      </main>
    </>
  );
}

// App renders the shell at once when the address names a datacenter (a
// bookmarked page loads without waiting for anything else); the bare
// content path waits for the agent's datacenter and moves to its services
// page.
function App() {
  const { path, route } = useLocation();
  const m = path.slice(BASE.length).match(/^([^/]+)/);
  const [local, setLocal] = useState('');
  const [dcs, setDCs] = useState([]);
  useEffect(() => {
    // The agent writes its datacenter into the page; served some other
    // way, the page takes the first of the datacenters, the agent's own
    // (neither needs a token, where /v1/agent/self would).
    const written = document.querySelector('meta[name="herald-datacenter"]')?.content;
    const known = written && !written.startsWith('__') ? written : '';
    if (known) {
      setLocalDC(known);
      setLocal(known);
    }
    get('/v1/catalog/datacenters', { local: true })
      .then(({ data }) => data)
      .catch(() => [])
      .then((list) => {
        setDCs(list);
        if (known) return;
        const dc = list[0] || (m ? decodeURIComponent(m[1]) : 'dc1');
        setLocalDC(dc);
        setLocal(dc);
      });
  }, []);
  useEffect(() => {
    if (local && !m) route(link(local, 'services'), true);
  }, [local, path]);
  if (!m) return <p class="muted loading">Loading…</p>;
  return <Shell local={local || decodeURIComponent(m[1])} dcs={dcs} />;
}

render(
  <LocationProvider>
    <App />
  </LocationProvider>,
  document.getElementById('app'),
);
