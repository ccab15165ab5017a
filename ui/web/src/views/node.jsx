import { useRows } from '../api.js';
import { Badge, Checks, Live, Meta, Tags, link, worst } from '../common.jsx';

// Node shows one node: its address, meta, checks, services, and the
// sessions on it with the locks they hold.
export function Node({ dc, name }) {
  const { rows, status, index, loaded } = useRows('node/' + name, () => name, dc);
  const row = rows.get(name);
  const node = row && (typeof row.Node === 'string' ? row : row.Node || {});
  return (
    <section class="page">
      <header class="page-head">
        <p class="crumbs">
          <a href={link(dc, 'nodes')}>Nodes</a> /
        </p>
        <h1>{name}</h1>
        {row && <Badge status={worst(row.Checks)} />}
        <Live status={status} index={index} />
        <a class="button" href={link(dc, 'history', 'node', encodeURIComponent(name))}>
          History
        </a>
      </header>
      {loaded && !row && <p class="muted">No node named {name}.</p>}
      {row && (
        <>
          <p>
            Address <code>{node.Address}</code>
            {node.ID && (
              <span class="muted">
                {' '}
                · ID <code>{node.ID}</code>
              </span>
            )}
          </p>
          <Meta meta={node.Meta} />
          <h2>Checks</h2>
          <Checks checks={row.Checks} />
          <h2>Services</h2>
          {(row.Services || []).length === 0 && <p class="muted">No services.</p>}
          <ul class="plain" aria-label="Services">
            {(row.Services || []).map((s) => (
              <li key={s.ID}>
                <a href={link(dc, 'services', encodeURIComponent(s.Service))}>{s.Service}</a>{' '}
                <span class="muted">{s.ID}</span> <code>{(s.Address || node.Address) + ':' + s.Port}</code> <Tags tags={s.Tags} />
              </li>
            ))}
          </ul>
          <h2>Sessions and locks</h2>
          {(row.Sessions || []).length === 0 && <p class="muted">No sessions.</p>}
          <ul class="cards" aria-label="Sessions">
            {(row.Sessions || []).map((s) => (
              <li key={s.ID} class="card session">
                <div class="card-head">
                  <strong>{s.Name || 'session'}</strong> <code>{s.ID}</code>
                  <span class="muted">
                    {s.Behavior} {s.TTL ? '· TTL ' + s.TTL : ''}
                  </span>
                </div>
                {(s.Locks || []).length ? (
                  <p>
                    Holds:{' '}
                    {s.Locks.map((k) => (
                      <a key={k} class="lock" href={link(dc, 'kv', k.split('/').map(encodeURIComponent).join('/'))}>
                        {k}
                      </a>
                    ))}
                  </p>
                ) : (
                  <p class="muted">Holds no locks.</p>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
