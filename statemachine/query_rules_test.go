package statemachine

import (
	"testing"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

const (
	queryID1 = "11111111-1111-1111-1111-111111111111"
	queryID2 = "22222222-2222-2222-2222-222222222222"
)

func createQuery(id, name, service string) *command.QuerySetBody {
	return &command.QuerySetBody{Create: true, Query: event.PreparedQuery{ID: id, Name: name, Service: event.ServiceQuery{Service: service}}}
}

func template(id, name, service, re string) *command.QuerySetBody {
	b := createQuery(id, name, service)
	b.Query.Template = event.QueryTemplate{Type: "name_prefix_match", Regexp: re}
	return b
}

func TestQueryRules(t *testing.T) {
	update := createQuery(queryID1, "web", "web-v2")
	update.Create = false
	runRules(t, []ruleCase{{
		name:   "a new query",
		apply:  createQuery(queryID1, "web", "web"),
		events: []string{"catalog.query.updated " + queryID1 + " name=web service=web @1/1"},
	}, {
		name:    "an ID is needed",
		apply:   createQuery("", "web", "web"),
		refused: "Missing Query ID",
	}, {
		name:    "a create may not reuse an ID",
		setup:   []command.Body{createQuery(queryID1, "web", "web")},
		apply:   createQuery(queryID1, "other", "web"),
		refused: "prepared query '" + queryID1 + "' already exists",
	}, {
		name:   "an update keeps the create index",
		setup:  []command.Body{createQuery(queryID1, "web", "web")},
		apply:  update,
		events: []string{"catalog.query.updated " + queryID1 + " name=web service=web-v2 @1/2"},
	}, {
		name:    "an update needs the query",
		apply:   update,
		refused: "Cannot modify non-existent prepared query: '" + queryID1 + "'",
	}, {
		name:    "names are unique without regard to case",
		setup:   []command.Body{createQuery(queryID1, "web", "web")},
		apply:   createQuery(queryID2, "WEB", "web"),
		refused: "name 'WEB' aliases an existing query name",
	}, {
		name:    "a name may not be another query's ID",
		setup:   []command.Body{createQuery(queryID1, "web", "web")},
		apply:   createQuery(queryID2, queryID1, "web"),
		refused: "name '" + queryID1 + "' aliases an existing query ID",
	}, {
		name:    "one template with the empty name",
		setup:   []command.Body{template(queryID1, "", "${name.full}", "")},
		apply:   template(queryID2, "", "${name.full}", ""),
		refused: "a query template with an empty name already exists",
	}, {
		name:    "a template must compile",
		apply:   template(queryID1, "geo-", "${match(1)}", "^geo-(.*"),
		refused: "failed compiling template: Bad Regexp: error parsing regexp: missing closing ): `^geo-(.*`",
	}, {
		name:    "a template's interpolations must be known",
		apply:   template(queryID1, "geo-", "${name.nope}", ""),
		refused: "failed compiling template: Bad evaluation for '${name.nope}' in Service.Service: unknown variable accessed: name.nope",
	}, {
		name:   "a delete",
		setup:  []command.Body{createQuery(queryID1, "web", "web")},
		apply:  &command.QueryDeleteBody{ID: queryID1},
		events: []string{"catalog.query.deleted " + queryID1 + " name=web service=web @1/1"},
	}, {
		name:    "a delete needs the query",
		apply:   &command.QueryDeleteBody{ID: queryID1},
		refused: "Cannot modify non-existent prepared query: '" + queryID1 + "'",
	}})
}
