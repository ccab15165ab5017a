import { useMemo } from 'preact/hooks';
import { useRows } from '../api.js';
import { Badge, Live, RANK, VirtualList, link, useWide, worst } from '../common.jsx';
import { useQuery } from './services.jsx';

export function Nodes({ dc }) {
  const { rows, version, status, index, loaded } = useRows('nodes', (r) => r.Node, dc);
  const [query, setQuery] = useQuery();
  const q = (query.q || '').toLowerCase();
  const health = query.health || '';
  const wide = useWide();
  const shown = useMemo(() => {
    const list = Array.from(rows.values()).filter(
      (n) => (!q || n.Node.toLowerCase().includes(q) || (n.Address || '').includes(q)) && (!health || worst(n.Checks) === health),
    );
    return list.sort((a, b) => RANK[worst(a.Checks)] - RANK[worst(b.Checks)] || a.Node.localeCompare(b.Node));
  }, [version, q, health]);

  const row = (n) => {
    const h = worst(n.Checks);
    const services = (n.Services || []).map((s) => s.Service);
    return (
      <a class={'row node ' + h} href={link(dc, 'nodes', encodeURIComponent(n.Node))} data-node={n.Node}>
        <span class="name">{n.Node}</span>
        <code class="inst">{n.Address}</code>
        <Badge status={h} />
        <span class="muted ellipsis">
          {services.length} {services.length === 1 ? 'service' : 'services'}
          {services.length ? ': ' + Array.from(new Set(services)).join(', ') : ''}
        </span>
      </a>
    );
  };
  return (
    <section class="page list-page">
      <header class="page-head">
        <h1>Nodes</h1>
        <span class="muted">{loaded ? `${shown.length} of ${rows.size}` : 'loading…'}</span>
        <Live status={status} index={index} />
      </header>
      <form class="filters" onSubmit={(e) => e.preventDefault()} role="search">
        <input
          type="search"
          placeholder="Search by name or address"
          aria-label="Search nodes"
          value={query.q || ''}
          onInput={(e) => setQuery('q', e.currentTarget.value)}
        />
        <select aria-label="Filter by health" value={health} onChange={(e) => setQuery('health', e.currentTarget.value)}>
          <option value="">Any health</option>
          <option value="critical">Critical</option>
          <option value="warning">Warning</option>
          <option value="passing">Passing</option>
        </select>
      </form>
      <VirtualList items={shown} rowHeight={wide ? 44 : 72} row={row} label="Nodes" />
    </section>
  );
}
