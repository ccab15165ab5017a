package preparedquery

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/projections"
)

// Answer is one instance an execution returns, with its health (Passing or
// Warning) for DNS weights.
type Answer struct {
	projections.Instance
	Health string
}

// Filter keeps the instances that q answers, as Consul's execution does:
//
//   - health: an instance is left out when a check that bears on it (its
//     own and its node's, minus Service.IgnoreCheckIDs) makes it critical
//     by package health's Instance rule, or, with Service.OnlyPassing,
//     anything but passing;
//   - Service.NodeMeta and Service.ServiceMeta: every pair must be there;
//   - Service.Tags: every tag must be there, and every tag written "!tag"
//     must not, compared without regard to case.
//
// It does not reorder: Order does.
func Filter(q *event.PreparedQuery, instances []projections.Instance) []Answer {
	sq := &q.Service
	var must, not []string
	for _, t := range sq.Tags {
		if rest, ok := strings.CutPrefix(t, "!"); ok {
			not = append(not, rest)
		} else {
			must = append(must, t)
		}
	}
	out := make([]Answer, 0, len(instances))
	for _, in := range instances {
		if in.Node == nil || in.Service == nil {
			continue
		}
		checks := in.Checks
		if len(sq.IgnoreCheckIDs) > 0 {
			checks = make([]*event.Check, 0, len(in.Checks))
			for _, c := range in.Checks {
				if c != nil && !slices.Contains(sq.IgnoreCheckIDs, c.CheckID) {
					checks = append(checks, c)
				}
			}
		}
		h := health.Instance(in.Service.ID, checks)
		if h == health.Critical || (h != health.Passing && sq.OnlyPassing) {
			continue
		}
		if !projections.MetaMatches(in.Node.Meta, sq.NodeMeta) || !projections.MetaMatches(in.Service.Meta, sq.ServiceMeta) {
			continue
		}
		if !projections.HasTags(in.Service.Tags, must) || slices.ContainsFunc(not, func(t string) bool {
			return projections.HasTags(in.Service.Tags, []string{t})
		}) {
			continue
		}
		out = append(out, Answer{Instance: in, Health: h})
	}
	return out
}

// Order shuffles answers, as Consul does before it sorts by distance, and
// then puts the node named near first if it is among the first ten
// answers. near is the query's Service.Near unless the request named one;
// "_agent" stands for agent, the node of the agent that executes the
// query. The distance sort is the HTTP API's (its ?near rule), applied
// after Order; DNS answers are not sorted by distance.
func Order(answers []Answer, near, agent string) {
	rand.Shuffle(len(answers), func(i, j int) { answers[i], answers[j] = answers[j], answers[i] })
	if near == "_agent" {
		near = agent
	}
	if near == "" || near == "_ip" {
		return
	}
	for i := range min(len(answers), 10) {
		if strings.EqualFold(answers[i].Node.Node, near) {
			answers[0], answers[i] = answers[i], answers[0]
			return
		}
	}
}

// Limit trims answers to at most n (n <= 0: no limit).
func Limit(answers []Answer, n int) []Answer {
	if n > 0 && len(answers) > n {
		return answers[:n]
	}
	return answers
}
