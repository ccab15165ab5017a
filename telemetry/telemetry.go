package telemetry

import (
	"context"
	"net/http"
	"sync"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	promsink "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label is a metric label (name and value).
type Label = gometrics.Label

// Config is the agent's telemetry block.
type Config struct {
	// Prefix starts every metric name; Consul's default is "consul".
	Prefix string
	// DisableHostname leaves the host name out of gauge names; Consul
	// puts it in by default ("consul.<host>.runtime.alloc_bytes").
	DisableHostname bool
	// PrometheusRetention is how long the Prometheus sink keeps a metric
	// that is no longer updated; 0 turns the Prometheus format off.
	PrometheusRetention time.Duration
}

// The in-memory sink's shape is Consul's: 10 s intervals, a minute kept.
const (
	inmemInterval = 10 * time.Second
	inmemRetain   = time.Minute
	// sampleEvery is how often Run samples the gauges.
	sampleEvery = time.Second
)

// Registry records the agent's metrics; see the package comment.
type Registry struct {
	// m names metrics with the configured prefix (Consul's names),
	// herald with "herald" instead, for keys that start with it. Both
	// write to the same sinks.
	m, herald *gometrics.Metrics
	inmem     *gometrics.InmemSink
	prom      *prometheus.Registry // nil: the Prometheus format is off

	mu     sync.Mutex
	gauges []gaugeFunc
}

type gaugeFunc struct {
	key    []string
	labels []Label
	value  func() (float32, bool)
}

// New builds a registry. Nothing runs until Run.
func New(cfg Config) (*Registry, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "consul"
	}
	r := &Registry{inmem: gometrics.NewInmemSink(inmemInterval, inmemRetain)}
	sinks := gometrics.FanoutSink{r.inmem}
	if cfg.PrometheusRetention > 0 {
		r.prom = prometheus.NewRegistry()
		ps, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{
			Expiration: cfg.PrometheusRetention,
			Registerer: r.prom,
		})
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, ps)
	}
	mc := gometrics.DefaultConfig(cfg.Prefix)
	mc.EnableHostname = !cfg.DisableHostname
	// Run samples the runtime itself: go-metrics' own sampler is a
	// goroutine that never ends, one per agent.
	mc.EnableRuntimeMetrics = false
	m, err := gometrics.New(mc, sinks)
	if err != nil {
		return nil, err
	}
	hc := *mc
	hc.ServiceName = HeraldPrefix
	herald, err := gometrics.New(&hc, sinks)
	if err != nil {
		return nil, err
	}
	r.m, r.herald = m, herald
	return r, nil
}

// HeraldPrefix starts the names of the metrics Consul has no name for;
// they are not given the configured prefix.
const HeraldPrefix = "herald"

// metrics picks the instance that names key, and the key it takes:
// herald's puts "herald" (and the host name, for gauges) in front itself.
func (r *Registry) metrics(key []string) (*gometrics.Metrics, []string) {
	if len(key) > 0 && key[0] == HeraldPrefix {
		return r.herald, key[1:]
	}
	return r.m, key
}

// IncrCounter adds val to a counter.
func (r *Registry) IncrCounter(key []string, val float32, labels ...Label) {
	if r != nil {
		m, key := r.metrics(key)
		m.IncrCounterWithLabels(key, val, labels)
	}
}

// MeasureSince records the time since start in a timer (milliseconds).
func (r *Registry) MeasureSince(key []string, start time.Time, labels ...Label) {
	if r != nil {
		m, key := r.metrics(key)
		m.MeasureSinceWithLabels(key, start, labels)
	}
}

// AddSample records one value of a sample.
func (r *Registry) AddSample(key []string, val float32, labels ...Label) {
	if r != nil {
		m, key := r.metrics(key)
		m.AddSampleWithLabels(key, val, labels)
	}
}

// SetGauge sets a gauge once; state that lasts belongs in Gauge.
func (r *Registry) SetGauge(key []string, val float32, labels ...Label) {
	if r != nil {
		m, key := r.metrics(key)
		m.SetGaugeWithLabels(key, val, labels)
	}
}

// Gauge has Run set the gauge every second to what value returns; a value
// whose second result is false is not set that time.
func (r *Registry) Gauge(key []string, value func() (float32, bool), labels ...Label) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.gauges = append(r.gauges, gaugeFunc{key: key, labels: labels, value: value})
	r.mu.Unlock()
}

// Run samples the gauges and the Go runtime every second until ctx ends.
func (r *Registry) Run(ctx context.Context) {
	if r == nil {
		return
	}
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		r.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Registry) sample() {
	r.m.EmitRuntimeStats()
	r.mu.Lock()
	gauges := r.gauges
	r.mu.Unlock()
	for _, g := range gauges {
		if v, ok := g.value(); ok {
			m, key := r.metrics(g.key)
			m.SetGaugeWithLabels(key, v, g.labels)
		}
	}
}

// Summary is the body of /v1/agent/metrics: Consul's MetricsInfo, from the
// last finished interval (the current one while it is the only one).
func (r *Registry) Summary() (any, error) {
	return r.inmem.DisplayMetrics(nil, nil)
}

// PrometheusHandler serves the metrics in the Prometheus text format, or
// is nil when the Prometheus format is off.
func (r *Registry) PrometheusHandler() http.Handler {
	if r == nil || r.prom == nil {
		return nil
	}
	return promhttp.HandlerFor(r.prom, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
