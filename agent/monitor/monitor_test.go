package monitor

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestSubscribersGetTheirLevelAndFormat(t *testing.T) {
	var agentLog bytes.Buffer
	h := New(slog.NewTextHandler(&agentLog, &slog.HandlerOptions{Level: slog.LevelInfo}))
	log := slog.New(h).With("component", "raft").WithGroup("g")

	debugText := h.Subscribe(slog.LevelDebug, false)
	warnJSON := h.Subscribe(slog.LevelWarn, true)
	log.Debug("elected", "term", 3)
	log.Warn("slow", "ms", 40)

	if strings.Contains(agentLog.String(), "elected") {
		t.Errorf("the agent's own log, at info, got a debug record: %q", agentLog.String())
	}
	if got := string(<-debugText.Lines()); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "msg=elected") ||
		!strings.Contains(got, "component=raft") || !strings.Contains(got, "g.term=3") {
		t.Errorf("debug line: %q", got)
	}
	if got := string(<-debugText.Lines()); !strings.Contains(got, "msg=slow") {
		t.Errorf("second debug line: %q", got)
	}
	var rec map[string]any
	if err := json.Unmarshal(<-warnJSON.Lines(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "slow" || rec["component"] != "raft" || rec["g"].(map[string]any)["ms"] != float64(40) {
		t.Errorf("JSON line: %v", rec)
	}
	if len(warnJSON.Lines()) != 0 {
		t.Errorf("the warn subscriber got the debug record")
	}
	debugText.Close()
	warnJSON.Close()
	if h.Enabled(t.Context(), slog.LevelDebug) {
		t.Errorf("debug still enabled with no subscriber left")
	}
}

func TestSlowSubscriberLosesLinesAndLoggingGoesOn(t *testing.T) {
	h := New(slog.DiscardHandler)
	log := slog.New(h)
	s := h.Subscribe(slog.LevelInfo, false)
	for i := range BufferLines + 10 {
		log.Info("line", "i", i)
	}
	if dropped := s.Close(); dropped != 10 {
		t.Errorf("dropped %d lines, want 10", dropped)
	}
	if len(s.Lines()) != BufferLines {
		t.Errorf("%d lines waiting, want %d", len(s.Lines()), BufferLines)
	}
}
