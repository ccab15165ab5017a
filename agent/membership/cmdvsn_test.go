package membership

import "testing"

func TestServersDecode(t *testing.T) {
	server := func(status, vsn string) Member {
		tags := map[string]string{TagRole: RoleServer}
		if vsn != "" {
			tags[TagCmdVsn] = vsn
		}
		return Member{Tags: tags, Status: status}
	}
	oldClient := Member{Tags: map[string]string{TagRole: RoleClient}, Status: StatusAlive}
	cases := []struct {
		name    string
		members []Member
		want    bool
	}{
		{"all servers read it", []Member{server(StatusAlive, "3"), server(StatusAlive, "4"), oldClient}, true},
		{"a server of an older build", []Member{server(StatusAlive, "3"), server(StatusAlive, "")}, false},
		{"a failed server may come back old", []Member{server(StatusAlive, "3"), server(StatusFailed, "2")}, false},
		{"a server that left does not count", []Member{server(StatusAlive, "3"), server(StatusLeft, "")}, true},
		{"no server known yet", []Member{oldClient}, false},
	}
	for _, c := range cases {
		if got := ServersDecode(c.members, 3); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
