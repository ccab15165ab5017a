package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/heraldhq/herald/testutil/poll"
)

// The browser tests drive Debian's chromium, headless, against real agents.
// One browser serves the whole test binary (starting one costs seconds on a
// busy machine); each test opens its own tab.

const chromiumPath = "/usr/bin/chromium"

// within is how long a page may take to show what a test waits for: a
// change reaches an idle page well within a second, but a loaded 2-core
// machine running the race detector is not idle.
const within = 30 * time.Second

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	dir    string
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
		os.RemoveAll(browser.dir)
	}
	os.Exit(code)
}

// startBrowser starts the shared browser on first use, with a fresh profile
// and nothing that talks to the network on its own.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s: the browser tests need Debian's chromium (CI installs it)", chromiumPath)
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "herald-ui-browser-")
		if err != nil {
			browser.err = err
			return
		}
		browser.dir = dir
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(chromiumPath),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.UserDataDir(dir),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.WindowSize(1280, 900),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		// The first Run starts the browser, and it lives as long as bctx.
		if err := chromedp.Do(bctx); err != nil {
			browser.err = err
		}
		browser.ctx = bctx
		browser.cancel = func() { bcancel(); acancel() }
	})
	if browser.err != nil {
		t.Fatalf("start chromium: %v", browser.err)
	}
	return browser.ctx
}

// page is one browser tab on an agent's UI.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string // http://<agent>/ui/<dc>/

	mu       sync.Mutex
	problems []string // console errors and uncaught exceptions
	expected []string // problems a test provokes on purpose (see expect)
}

// expect lets problems containing text pass: the browser logs every
// refused request as an error, and a test of how a page shows a refusal
// provokes one.
func (p *page) expect(text string) {
	p.mu.Lock()
	p.expected = append(p.expected, text)
	p.mu.Unlock()
}

// openPage opens a tab (width × height CSS pixels) on the UI of the agent
// at httpAddr. At the end of the test it fails the test if the page logged
// an error or threw, and closes the tab.
func openPage(t *testing.T, httpAddr string, width, height int64) *page {
	t.Helper()
	bctx := startBrowser(t)
	p := &page{t: t, base: "http://" + httpAddr + "/ui/dc1/"}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				p.problem(fmt.Sprintf("console.%s: %s", ev.Type, args(ev.Args)))
			}
		case *cdplog.EventEntryAdded:
			// The browser's own messages: failed requests, a stream
			// answered with something other than an event stream.
			if ev.Entry.Level == cdplog.EntryLevelError {
				p.problem(fmt.Sprintf("%s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			if d.Exception != nil {
				p.problem("exception: " + d.Text + " " + d.Exception.Description)
			} else {
				p.problem("exception: " + d.Text)
			}
		}
	}))
	p.ctx = ctx
	enableLog := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, cdplog.Enable, cdp.Empty{})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(ctx, enableLog, chromedp.EmulateViewport(width, height)); err != nil {
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		problems, expected := p.problems, p.expected
		p.mu.Unlock()
	next:
		for _, pr := range problems {
			for _, e := range expected {
				if strings.Contains(pr, e) {
					continue next
				}
			}
			t.Errorf("browser console: %s", pr)
		}
		cancel()
	})
	return p
}

func args(list []*runtime.RemoteObject) string {
	var out []string
	for _, a := range list {
		if a.Value != nil {
			out = append(out, string(a.Value))
		} else {
			out = append(out, a.Description)
		}
	}
	return strings.Join(out, " ")
}

func (p *page) problem(s string) {
	p.mu.Lock()
	p.problems = append(p.problems, s)
	p.mu.Unlock()
}

// run runs browser actions with a deadline, failing the test on error.
func (p *page) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, within)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to a page of the UI (path relative to /ui/<dc>/).
func (p *page) open(path string) {
	p.t.Helper()
	p.run("open "+path, chromedp.Navigate(p.base+path))
}

// eval evaluates a JavaScript expression in the page and decodes its value
// into a T.
func eval[T any](p *page, js string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, within)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, func(e *runtime.EvaluateParams) {
		awaitPromise := true
		e.AwaitPromise = &awaitPromise
	}))
}

// do evaluates a JavaScript statement that acts on the page (a click, a
// typed value), failing the test if it throws.
func (p *page) do(what, js string) {
	p.t.Helper()
	if _, err := eval[any](p, js); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// text is the text of the first element matching selector ("" if none).
func (p *page) text(selector string) string {
	s, _ := eval[string](p, fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, selector))
	return s
}

// waitFor polls the page until the JavaScript expression cond is true;
// when it is not in time, the failure shows the page's text.
func (p *page) waitFor(what, cond string) {
	p.t.Helper()
	poll.Eventually(p.t, within, what, func() (bool, string) {
		ok, err := eval[bool](p, "!!("+cond+")")
		if err == nil && ok {
			return true, ""
		}
		body := p.text("main")
		if len(body) > 1500 {
			body = body[:1500] + "…"
		}
		return false, fmt.Sprintf("%s is false (%v); the page shows:\n%s", cond, err, body)
	})
}

// click clicks the first element matching selector whose text contains
// label ("" for any).
func (p *page) click(selector, label string) {
	p.t.Helper()
	p.do("click "+selector+" "+label, fmt.Sprintf(`(() => {
		const el = Array.from(document.querySelectorAll(%q)).find(e => e.innerText.includes(%q));
		if (!el) throw new Error("nothing to click: " + %q + " " + %q);
		el.click();
	})()`, selector, label, selector, label))
}

// typeIn sets the value of the form control matching selector as a user
// typing it would (an input event, which the page listens to).
func (p *page) typeIn(selector, value string) {
	p.t.Helper()
	v, _ := json.Marshal(value)
	p.do("type in "+selector, fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el) throw new Error("no " + %q);
		el.focus();
		const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
		Object.getOwnPropertyDescriptor(proto, "value").set.call(el, %s);
		el.dispatchEvent(new Event("input", {bubbles: true}));
	})()`, selector, selector, v))
}

// shot saves a screenshot of the page as name.png: in the test's temporary
// directory, or in $HERALD_UI_SCREENSHOTS when set (docs/ui keeps the best).
func (p *page) shot(name string) {
	p.t.Helper()
	dir := os.Getenv("HERALD_UI_SCREENSHOTS")
	if dir == "" {
		dir = p.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, within)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// changeDelay measures how long a change made by write takes to show on
// the page: the page notes the time (the same clock as the test's) when
// cond first holds, watching every DOM mutation.
func changeDelay(t *testing.T, p *page, cond string, write func()) time.Duration {
	t.Helper()
	p.do("watch for the change", `window.changeSeenAt = 0; (() => {
		const check = () => { if (!window.changeSeenAt && (`+cond+`)) window.changeSeenAt = Date.now(); };
		new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
	})()`)
	before := time.Now()
	write()
	p.waitFor("the change shows", "window.changeSeenAt > 0")
	seen, err := eval[float64](p, "window.changeSeenAt")
	if err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(int64(seen)).Sub(before).Round(time.Millisecond)
}
