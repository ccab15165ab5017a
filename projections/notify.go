package projections

// notifier hands out one channel per watched name and closes it when the
// name is fired. Waiters of the same name share the channel, so 20,000
// watchers of one service cost one channel, not 20,000. Callers hold the
// projection's lock.
type notifier map[string]chan struct{}

func (n notifier) watch(name string) <-chan struct{} {
	ch, ok := n[name]
	if !ok {
		ch = make(chan struct{})
		n[name] = ch
	}
	return ch
}

func (n notifier) fire(name string) {
	if ch, ok := n[name]; ok {
		close(ch)
		delete(n, name)
	}
}

func (n notifier) fireAll() {
	for name, ch := range n {
		close(ch)
		delete(n, name)
	}
}
