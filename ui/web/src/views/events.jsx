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
        if (type !== 'event') return;
        seq++;
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
      {events.length === 0 && <p class="muted">Waiting for changes{subject ? ' on ' + subject : ''}…</p>}
      <ol class="events" aria-label="Events">
        {events.map((e) => (
          <li key={e.seq}>
            <code class="subject">{e.data.Subject}</code>
            <pre class="output">{JSON.stringify(e.data, null, 1)}</pre>
          </li>
        ))}
      </ol>
    </section>
  );
}
