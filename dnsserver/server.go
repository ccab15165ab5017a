package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/telemetry"
)

// ErrStarted is returned by Start on a server that is already serving.
var ErrStarted = errors.New("dnsserver: already started")

// Server answers Consul's DNS queries from a Catalog over UDP and TCP.
type Server struct {
	st        settings
	cat       Catalog
	log       *slog.Logger
	metrics   *telemetry.Registry
	udpClient *dns.Client
	tcpClient *dns.Client
	// cache holds packed service answers (cache.go).
	cache answerCache

	mu   sync.Mutex
	udp  *dns.Server
	tcp  *dns.Server
	addr string
}

// New checks cfg and returns a server that is not listening yet.
func New(cfg Config) (*Server, error) {
	st, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{
		st:        st,
		cat:       cfg.Catalog,
		log:       logger.With("component", "dns"),
		metrics:   cfg.Metrics,
		udpClient: &dns.Client{Net: "udp", Timeout: st.recursorWait},
		tcpClient: &dns.Client{Net: "tcp", Timeout: st.recursorWait},
	}, nil
}

// Start listens on UDP and TCP at addr (host:port) and returns once both
// are serving. Port 0 picks a free port, the same one for both, since
// clients retry a truncated UDP answer over TCP at the same address.
func (s *Server) Start(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp != nil {
		return ErrStarted
	}
	ln, pc, err := listen(addr)
	if err != nil {
		return err
	}
	started := make(chan struct{}, 2)
	failed := make(chan error, 2)
	notify := func() { started <- struct{}{} }
	udp := &dns.Server{PacketConn: pc, Handler: s, UDPSize: dns.MaxMsgSize, NotifyStartedFunc: notify}
	tcp := &dns.Server{Listener: ln, Handler: s, NotifyStartedFunc: notify}
	serve := func(network string, srv *dns.Server) {
		if err := srv.ActivateAndServe(); err != nil {
			s.log.Error("DNS listener stopped", "net", network, "addr", ln.Addr().String(), "error", err)
			failed <- fmt.Errorf("dnsserver: serving %s on %s: %w", network, addr, err)
		}
	}
	go serve("udp", udp)
	go serve("tcp", tcp)
	for range 2 {
		select {
		case <-started:
		case err := <-failed:
			// Closing the sockets ends whichever listener did start.
			_ = ln.Close()
			_ = pc.Close()
			return err
		}
	}
	s.udp, s.tcp, s.addr = udp, tcp, ln.Addr().String()
	s.log.Info("DNS server started", "addr", s.addr, "zones", []string(s.st.zones), "recursors", s.st.recursors)
	return nil
}

// listen binds TCP first and then UDP on the port TCP got, trying again
// when another process holds that port for UDP.
func listen(addr string) (net.Listener, net.PacketConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dnsserver: address %q: %w", addr, err)
	}
	tries := 1
	if port == "0" {
		tries = 20
	}
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dnsserver: listen tcp %s: %w", addr, err)
		}
		bound := net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		pc, err := net.ListenPacket("udp", bound)
		if err == nil {
			return ln, pc, nil
		}
		_ = ln.Close()
		if i+1 >= tries {
			return nil, nil, fmt.Errorf("dnsserver: listen udp %s: %w", bound, err)
		}
	}
}

// Addr is the host:port both listeners are bound to, "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops both listeners and waits, up to five seconds, for the
// queries in flight. The server may be started again afterwards.
func (s *Server) Shutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp == nil {
		return nil
	}
	err := shutdown(s.udp, s.tcp)
	s.udp, s.tcp, s.addr = nil, nil, ""
	return err
}

func shutdown(servers ...*dns.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.ShutdownContext(ctx))
	}
	return errors.Join(errs...)
}
