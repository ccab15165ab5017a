package ui_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"
)

// recordStreams wraps the page's EventSource before its scripts run: each
// stream the page opens is kept in window.heraldStreams, and
// window.failStream() ends the newest as an HTTP error would (closed, then
// an error event), which the browser does not retry by itself; lastSeen is
// the id of the last event a stream delivered.
const recordStreams = `(() => {
	const Native = window.EventSource;
	window.heraldStreams = [];
	class Recorded extends Native {
		constructor(url, opts) {
			super(url, opts);
			this.failed = false;
			this.addEventListener("event", (e) => { this.lastSeen = e.lastEventId; });
			window.heraldStreams.push(this);
		}
		get readyState() { return this.failed ? Native.CLOSED : super.readyState; }
	}
	window.EventSource = Recorded;
	window.failStream = () => {
		const es = window.heraldStreams[window.heraldStreams.length - 1];
		es.failed = true;
		es.close();
		es.onerror(new Event("error"));
	};
})()`

// The events page, its stream failed, opens it again from the position of
// the last event it showed: what was written meanwhile shows, nothing
// shows twice.
func TestEventsPageResumesAfterAnError(t *testing.T) {
	a, c := startUI(t)
	p := openPage(t, a.HTTPAddr(), 1280, 800)
	p.run("record the page's streams", func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tgt, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: recordStreams})
		return chromedp.Void{}, err
	})
	p.open("events?subject=" + "herald.dc1.kv.resume.>")
	p.waitFor("the tail is live", `document.querySelector('.live.is-live') && window.heraldStreams.length === 1`)
	put := func(key string) {
		t.Helper()
		if _, err := c.KV().Put(&api.KVPair{Key: key, Value: []byte("1")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	shown := func(subject string) string {
		return `Array.from(document.querySelectorAll('ol.events .subject')).filter(e => e.innerText === "` + subject + `").length`
	}
	put("resume/a")
	p.waitFor("the first write is tailed", shown("herald.dc1.kv.resume.a")+" === 1")
	p.do("fail the stream", "window.failStream()")
	put("resume/b") // while the page is disconnected
	p.waitFor("the page opens the stream again from its last position",
		`window.heraldStreams.length === 2 && new URL(window.heraldStreams[1].url).searchParams.get("index") === window.heraldStreams[0].lastSeen`)
	p.waitFor("the write made meanwhile is tailed", shown("herald.dc1.kv.resume.b")+" === 1")
	put("resume/c")
	p.waitFor("and the next one", shown("herald.dc1.kv.resume.c")+" === 1")
	if n, err := eval[int](p, shown("herald.dc1.kv.resume.a")); err != nil || n != 1 {
		t.Fatalf("the write before the error is shown %d times (%v), want once", n, err)
	}
	if n, err := eval[int](p, shown("herald.dc1.kv.resume.b")); err != nil || n != 1 {
		t.Fatalf("the write during the error is shown %d times (%v), want once", n, err)
	}
}
