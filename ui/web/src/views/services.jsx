import { useEffect, useMemo } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { useRows } from '../api.js';
import { Counts, Live, RANK, Tags, VirtualList, link, useWide } from '../common.jsx';

export function serviceHealth(s) {
  if (s.ChecksCritical > 0) return 'critical';
  if (s.ChecksWarning > 0) return 'warning';
  if (s.ChecksPassing > 0) return 'passing';
  return 'none';
}

// The list sorts and filters decorated rows ({s, h: health, n: lower-case
// name}), each computed once per message rather than once per comparison.
const byName = (a, b) => (a.s.Name < b.s.Name ? -1 : a.s.Name > b.s.Name ? 1 : 0);
const SORTS = {
  // Default: the services that need attention first (critical, then
  // warning), by name within each; an operator opens this page to find
  // what is broken.
  health: (a, b) => RANK[a.h] - RANK[b.h] || byName(a, b),
  name: byName,
  instances: (a, b) => b.s.InstanceCount - a.s.InstanceCount || byName(a, b),
};

// setQuery replaces one query parameter of the page's address, so a
// filtered list can be bookmarked and shared.
export function useQuery() {
  const loc = useLocation();
  const set = (name, value) => {
    const q = { ...loc.query, [name]: value };
    const s = Object.entries(q)
      .filter(([, v]) => v)
      .map(([k, v]) => k + '=' + encodeURIComponent(v))
      .join('&');
    loc.route(loc.path + (s ? '?' + s : ''), true);
  };
  return [loc.query, set];
}

export function Services({ dc }) {
  const { rows, version, status, index, loaded } = useRows('services', (r) => r.Name, dc);
  const [query, setQuery] = useQuery();
  const q = (query.q || '').toLowerCase();
  const tag = query.tag || '';
  const health = query.health || '';
  const sort = SORTS[query.sort] ? query.sort : 'health';
  const wide = useWide();

  const all = useMemo(() => {
    const list = [];
    for (const s of rows.values()) list.push({ s, h: serviceHealth(s), n: s.Name.toLowerCase() });
    return list;
  }, [version]);
  const tags = useMemo(() => {
    const set = new Set();
    for (const d of all) for (const t of d.s.Tags || []) set.add(t);
    return Array.from(set).sort();
  }, [all]);
  const shown = useMemo(() => {
    const list = all.filter(
      (d) => (!q || d.n.includes(q)) && (!tag || (d.s.Tags || []).includes(tag)) && (!health || d.h === health),
    );
    return list.sort(SORTS[sort]);
  }, [all, q, tag, health, sort]);

  // The moment the first rows are on screen, for the Performance API (the
  // load time docs/ui.md reports).
  useEffect(() => {
    if (loaded && all.length && !performance.getEntriesByName('herald:services-shown').length) {
      performance.mark('herald:services-shown');
    }
  }, [loaded, all.length]);

  const row = ({ s, h }) => (
    <a class={'row service ' + h} href={link(dc, 'services', encodeURIComponent(s.Name))} data-service={s.Name}>
      <span class="name">{s.Name}</span>
      <span class="inst">{s.InstanceCount} {s.InstanceCount === 1 ? 'instance' : 'instances'}</span>
      <Counts passing={s.ChecksPassing} warning={s.ChecksWarning} critical={s.ChecksCritical} />
      <Tags tags={s.Tags} />
    </a>
  );

  return (
    <section class="page list-page">
      <header class="page-head">
        <h1>Services</h1>
        <span class="muted" id="count">
          {loaded ? `${shown.length} of ${all.length}` : 'loading…'}
        </span>
        <Live status={status} index={index} />
      </header>
      <form class="filters" onSubmit={(e) => e.preventDefault()} role="search">
        <input
          type="search"
          placeholder="Search by name"
          aria-label="Search services by name"
          value={query.q || ''}
          onInput={(e) => setQuery('q', e.currentTarget.value)}
        />
        <select aria-label="Filter by tag" value={tag} onChange={(e) => setQuery('tag', e.currentTarget.value)}>
          <option value="">All tags</option>
          {tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <select aria-label="Filter by health" value={health} onChange={(e) => setQuery('health', e.currentTarget.value)}>
          <option value="">Any health</option>
          <option value="critical">Critical</option>
          <option value="warning">Warning</option>
          <option value="passing">Passing</option>
        </select>
        <select aria-label="Sort" value={sort} onChange={(e) => setQuery('sort', e.currentTarget.value === 'health' ? '' : e.currentTarget.value)}>
          <option value="health">Unhealthy first</option>
          <option value="name">Name</option>
          <option value="instances">Most instances</option>
        </select>
      </form>
      {loaded && shown.length === 0 && <p class="muted">No services match.</p>}
      <VirtualList items={shown} rowHeight={wide ? 44 : 72} row={row} label="Services" />
    </section>
  );
}
