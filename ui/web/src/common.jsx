// Pieces every view shares: health, badges, the live indicator, the
// windowed list.
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
} from '@tanstack/virtual-core';
import { BASE } from './api.js';

// Health ranks: what an operator looks at first sorts first.
export const RANK = { critical: 0, warning: 1, passing: 2, none: 3 };

export function worst(checks) {
  let h = 'none';
  for (const c of checks || []) {
    const s = c.Status === 'maintenance' ? 'critical' : c.Status;
    if (RANK[s] !== undefined && RANK[s] < RANK[h]) h = s;
  }
  return h;
}

export function Badge({ status, children }) {
  return <span class={'badge ' + status}>{children ?? status}</span>;
}

// Counts shows passing/warning/critical counts of checks.
export function Counts({ passing, warning, critical }) {
  return (
    <span class="counts">
      {critical > 0 && <Badge status="critical">{critical} critical</Badge>}
      {warning > 0 && <Badge status="warning">{warning} warning</Badge>}
      {passing > 0 && <Badge status="passing">{passing} passing</Badge>}
      {!critical && !warning && !passing && <Badge status="none">no checks</Badge>}
    </span>
  );
}

export function Live({ status, index }) {
  const text = status === 'live' ? 'live' : status;
  return (
    <span class={'live is-' + status} title={index ? 'index ' + index : ''} role="status">
      ● {text}
      {index ? <span class="muted"> @ {index}</span> : null}
    </span>
  );
}

export function Tags({ tags }) {
  if (!tags || !tags.length) return null;
  return (
    <span class="tags">
      {tags.map((t) => (
        <span class="tag" key={t}>
          {t}
        </span>
      ))}
    </span>
  );
}

export function Meta({ meta }) {
  const entries = Object.entries(meta || {});
  if (!entries.length) return null;
  return (
    <dl class="meta">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function link(dc, ...parts) {
  return BASE + encodeURIComponent(dc) + '/' + parts.join('/');
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {String(error.message || error)}
    </p>
  );
}

export function Checks({ checks }) {
  if (!checks || !checks.length) return <p class="muted">No checks.</p>;
  return (
    <ul class="checks">
      {checks.map((c) => (
        <li key={c.CheckID} class={'check ' + c.Status}>
          <div class="check-head">
            <Badge status={c.Status} />
            <strong>{c.Name || c.CheckID}</strong>
            <span class="muted">{c.CheckID}</span>
            {c.Type && <span class="muted">{c.Type}</span>}
          </div>
          {c.Output && <pre class="output">{c.Output}</pre>}
          {c.Notes && <p class="muted">{c.Notes}</p>}
        </li>
      ))}
    </ul>
  );
}

// useVirtualizer binds @tanstack/virtual-core to a Preact component (what
// its React adapter does): only the rows in view, plus a few, are in the
// DOM, so a list of 5,000 services renders as fast as a list of 30.
function useVirtualizer(options) {
  const [, rerender] = useReducer((x) => x + 1, 0);
  const resolved = {
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    ...options,
    onChange: () => rerender(),
  };
  const [v] = useState(() => new Virtualizer(resolved));
  v.setOptions(resolved);
  useLayoutEffect(() => v._didMount(), []);
  useLayoutEffect(() => v._willUpdate());
  return v;
}

// VirtualList renders items through row(item) inside a scrolling box. Rows
// have one height (rowHeight px); keyboard users tab through the rendered
// rows and the box scrolls with the focus.
export function VirtualList({ items, rowHeight, row, label }) {
  const scroller = useRef(null);
  const v = useVirtualizer({
    count: items.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 12,
  });
  return (
    <div class="vlist" ref={scroller} role="list" aria-label={label}>
      <div style={{ height: v.getTotalSize() + 'px', position: 'relative' }}>
        {v.getVirtualItems().map((it) => (
          <div
            key={it.key}
            role="listitem"
            class="vrow"
            style={{ position: 'absolute', top: 0, left: 0, right: 0, height: rowHeight + 'px', transform: `translateY(${it.start}px)` }}
          >
            {row(items[it.index])}
          </div>
        ))}
      </div>
    </div>
  );
}

// useWide says whether the window is wide enough for one-line rows.
export function useWide() {
  const [wide, setWide] = useState(() => window.innerWidth >= 720);
  useLayoutEffect(() => {
    const on = () => setWide(window.innerWidth >= 720);
    window.addEventListener('resize', on);
    return () => window.removeEventListener('resize', on);
  }, []);
  return wide;
}

// Confirm is a modal question on the native <dialog> element.
export function Confirm({ open, text, yes, onYes, onNo }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} onCancel={onNo} aria-label="Confirm">
      <p>{text}</p>
      <div class="actions">
        <button type="button" class="danger" onClick={onYes}>
          {yes}
        </button>
        <button type="button" onClick={onNo} autofocus>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
