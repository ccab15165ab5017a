import { useEffect, useState } from 'preact/hooks';
import { openStream } from '../api.js';
import { Live } from '../common.jsx';
import { useQuery } from './services.jsx';

const KEEP = 500;

// Events is the live tail of the event stream, filtered by subject (NATS
// wildcards: herald.dc1.kv.>).
export function Events({ dc }) {
  const [query, setQuery] = useQuery();
  const subject = query.subject || '';
  const [draft, setDraft] = useState(subject);
  const [events, setEvents] = useState([]);
  const [status, setStatus] = useState('connecting');
  const [paused, setPaused] = useState(false);
  useEffect(() => {
    setEvents([]);
    if (paused) {
      setStatus('paused');
      return undefined;
    }
    let seq = 0;
    return openStream('events', {
      dc,
      params: { subject },
      onStatus: setStatus,
      onMessage: (type, data, id) => {
        if (type !== 'event' && type !== 'gap') return;
        seq++;
        // A gap: the stream no longer held events this page missed while
        // it was disconnected; the tail says so and goes on.
        if (type === 'gap') data = { Subject: `gap in the ${data.Shard} shard: events after index ${data.After} are lost, the tail goes on from ${data.Next}`, gap: data };
        setEvents((list) => [{ seq, id, data }, ...list].slice(0, KEEP));
      },
    });
  }, [subject, dc, paused]);
  return (
    <section class="page">
      <header class="page-head">
        <h1>Events</h1>
        <Live status={status} />
        <button type="button" onClick={() => setPaused(!paused)} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </header>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery('subject', draft.trim());
        }}
      >
        <input
          type="search"
          aria-label="Subject filter"
          placeholder={`Subject, e.g. herald.${dc}.kv.>`}
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
        />
        <button type="submit">Filter</button>
      </form>
      {status === 'local-only' && (
        <p class="notice" role="alert">
          The event tail is the agent's own: it shows the changes of the datacenter this agent is in, not of {dc}.
        </p>
      )}
      {events.length === 0 && status !== 'local-only' && <p class="muted">Waiting for changes{subject ? ' on ' + subject : ''}…</p>}
      <ol class="events" aria-label="Events">
        {events.map((e) => (
          <li key={e.seq} class={e.data.gap ? 'gap' : ''}>
            <code class="subject">{e.data.Subject}</code>
            {!e.data.gap && <pre class="output">{JSON.stringify(e.data, null, 1)}</pre>}
          </li>
        ))}
      </ol>
    </section>
  );
}
