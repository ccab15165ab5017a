package membership

import "strconv"

// ServersDecode reports whether every server among members that has not
// left gossips (TagCmdVsn) that it decodes command envelopes of version
// vsn, and there is at least one: the gate before a proposer writes that
// version. A server of a build older than the tag gossips none, and so
// does not.
func ServersDecode(members []Member, vsn int) bool {
	sawServer := false
	for _, m := range members {
		if m.Tags[TagRole] != RoleServer || m.Status == StatusLeft {
			continue
		}
		if got, err := strconv.Atoi(m.Tags[TagCmdVsn]); err != nil || got < vsn {
			return false
		}
		sawServer = true
	}
	return sawServer
}
