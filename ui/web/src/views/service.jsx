import { useMemo } from 'preact/hooks';
import { useRows } from '../api.js';
import { Badge, Checks, Live, Meta, RANK, Tags, link, worst } from '../common.jsx';

// Service shows a service's instances, each with its node, address, tags,
// meta and checks.
export function Service({ dc, name }) {
  const { rows, version, status, index, loaded } = useRows(
    'service/' + name,
    (r) => r.Node.Node + '/' + r.Service.ID,
    dc,
  );
  const list = useMemo(
    () =>
      Array.from(rows.values()).sort(
        (a, b) =>
          RANK[worst(a.Checks)] - RANK[worst(b.Checks)] ||
          a.Node.Node.localeCompare(b.Node.Node) ||
          a.Service.ID.localeCompare(b.Service.ID),
      ),
    [version],
  );
  return (
    <section class="page">
      <header class="page-head">
        <p class="crumbs">
          <a href={link(dc, 'services')}>Services</a> /
        </p>
        <h1>{name}</h1>
        <Live status={status} index={index} />
        <a class="button" href={link(dc, 'history', 'service', encodeURIComponent(name))}>
          History
        </a>
      </header>
      {loaded && list.length === 0 && <p class="muted">No instances of {name}.</p>}
      <ul class="cards" aria-label="Instances">
        {list.map((e) => {
          const s = e.Service;
          const h = worst(e.Checks);
          return (
            <li key={e.Node.Node + '/' + s.ID} class={'card instance ' + h} data-instance={s.ID}>
              <div class="card-head">
                <Badge status={h} />
                <strong>{s.ID}</strong>
                <span>
                  on <a href={link(dc, 'nodes', encodeURIComponent(e.Node.Node))}>{e.Node.Node}</a>
                </span>
                <code>
                  {s.Address || e.Node.Address}:{s.Port}
                </code>
              </div>
              <Tags tags={s.Tags} />
              <Meta meta={s.Meta} />
              <Checks checks={e.Checks} />
            </li>
          );
        })}
      </ul>
    </section>
  );
}
